package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.scheduler.domain.BackupRequest;

import java.time.Instant;

/**
 * What POST /backups answers: the id to follow in the catalog (GET /api/v1/backups/{backupId} there). GET
 * /backups/{id} answers the same shape with the status the scheduler has seen (REQUESTED, COMPLETED, FAILED,
 * EXPIRED); the catalog has the full history.
 */
public record BackupAccepted(String backupId, String sourceId, BackupType type, String policyId, String requestedBy,
                             Instant requestedAt, String status) {
    public static BackupAccepted of(BackupRequest r) {
        return new BackupAccepted(r.backupId.toString(), r.sourceId, r.type, r.policyId, r.requestedBy, r.requestedAt,
                r.status == null ? "REQUESTED" : r.status.name());
    }
}
