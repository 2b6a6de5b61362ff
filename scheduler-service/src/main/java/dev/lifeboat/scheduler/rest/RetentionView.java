package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.repository.snapshot.retention.Integrity;
import dev.lifeboat.repository.snapshot.retention.KeepReason;
import dev.lifeboat.repository.snapshot.retention.RetainedBackup;
import dev.lifeboat.scheduler.service.RetentionService.Evaluation;

import java.time.Instant;
import java.util.List;
import java.util.Set;

/** GET /policies/{id}/retention: what the policy keeps (and why) and what it would expire now. Newest first. */
public record RetentionView(String policyId, String sourceId, PolicyRequest.Retention retention, Instant evaluatedAt,
                            List<Entry> keep, List<Entry> expire) {

    /** {@code integrity}: UNVERIFIED (checked at sealing), VERIFIED (full verification passed) or CORRUPT. */
    public record Entry(String backupId, Instant completedAt, BackupType type, String chainId, String dependsOn,
                        Set<KeepReason> reasons, Integrity integrity) {
    }

    public static RetentionView of(Evaluation e) {
        List<Entry> keep = e.decision().keep().entrySet().stream()
                .map(k -> entry(e.backups().get(k.getKey()), k.getValue())).toList();
        List<Entry> expire = e.decision().expire().stream().map(id -> entry(e.backups().get(id), Set.of())).toList();
        return new RetentionView(e.policy().id, e.policy().sourceId,
                new PolicyRequest.Retention(e.counts().daily(), e.counts().weekly(), e.counts().monthly()),
                Instant.now(), keep, expire);
    }

    private static Entry entry(RetainedBackup b, Set<KeepReason> reasons) {
        return new Entry(b.backupId(), b.completedAt(), BackupType.valueOf(b.type().name()), b.chainId(),
                b.dependsOn(), reasons, b.integrity());
    }
}
