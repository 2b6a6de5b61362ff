package dev.lifeboat.contracts;

import java.time.Instant;
import java.util.List;

/**
 * The scheduler takes back an earlier BackupsExpired for these backups: each passed a full verification after it was
 * expired and is now the one its policy keeps (the newest fully verified backup of the source). storage-worker,
 * which recomputes retention over its own verdicts, will have refused to delete it; the catalog clears its expiry.
 * Key = policyId.
 */
public record ExpiryRevoked(String policyId, String sourceId, List<String> backupIds, String reason,
                            Instant revokedAt) {
    public ExpiryRevoked {
        backupIds = backupIds == null ? null : List.copyOf(backupIds);
    }
}
