package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.scheduler.domain.BackupRequest;

import java.time.Instant;

/** What POST /backups answers: the id to follow in the catalog (GET /api/v1/backups/{backupId} there). */
public record BackupAccepted(String backupId, String sourceId, BackupType type, String policyId, String requestedBy,
                             Instant requestedAt, String status) {
    public static BackupAccepted of(BackupRequest r) {
        return new BackupAccepted(r.backupId.toString(), r.sourceId, r.type, r.policyId, r.requestedBy, r.requestedAt,
                "REQUESTED");
    }
}
