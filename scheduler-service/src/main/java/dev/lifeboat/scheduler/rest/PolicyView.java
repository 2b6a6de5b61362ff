package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.scheduler.domain.Policy;

import java.time.Instant;

public record PolicyView(String id, String sourceId, BackupType type, String schedule, Instant nextRunAt,
                         PolicyRequest.Retention retention, PolicyRequest.Destination destination,
                         PolicyRequest.Destination offsite, String rpo, String maxDuration,
                         boolean enabled, Instant createdAt, Instant updatedAt, String createdBy,
                         String updatedBy) {
    public static PolicyView of(Policy p, Instant nextRunAt) {
        return new PolicyView(p.id, p.sourceId, p.type, p.schedule, nextRunAt,
                new PolicyRequest.Retention(p.keepDaily, p.keepWeekly, p.keepMonthly),
                new PolicyRequest.Destination(p.bucket, p.prefix),
                p.offsiteBucket == null ? null : new PolicyRequest.Destination(p.offsiteBucket, p.offsitePrefix), p.rpo, p.maxDuration, p.enabled, p.createdAt, p.updatedAt,
                p.createdBy, p.updatedBy);
    }
}
