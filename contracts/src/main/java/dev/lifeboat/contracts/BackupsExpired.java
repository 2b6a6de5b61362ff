package dev.lifeboat.contracts;

import java.time.Instant;
import java.util.List;

/**
 * The scheduler's retention decision: these backups of a policy fall outside its keep set and may be deleted.
 * Deleting manifests and collecting chunks is the storage-worker's job; the scheduler only decides.
 * Key = policyId. reason is written for a person (which rule, which trigger).
 */
public record BackupsExpired(String policyId, String sourceId, List<String> backupIds, String reason,
                             Instant decidedAt) {
    public BackupsExpired {
        backupIds = backupIds == null ? null : List.copyOf(backupIds);
    }
}
