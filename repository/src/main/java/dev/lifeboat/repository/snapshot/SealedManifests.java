package dev.lifeboat.repository.snapshot;

import java.util.Map;
import java.util.function.Supplier;

/**
 * The sealed backups of one repository that are not deleted, each with its chain and the SHA-256 its manifest had
 * when it was sealed, for the collectors whose deletions follow what manifests say ({@link GarbageCollector},
 * {@link dev.lifeboat.repository.wal.WalCollector}). The repository does not record seals (storage-worker does), so
 * the caller gives them. Such a backup decides what is kept only through its manifest read as sealed, in its own
 * chain ({@link Repository#manifests(String, Map)}): one altered, in another chain, or missing from the bucket stops
 * the collection it would decide. A backup not in the map (never sealed, or not by this caller) is read as found.
 *
 * @param byBackupId asked at the start of each pass, and by garbage collection again right before a chain's sweep
 *                   deletes anything, so a backup sealed during a long pass is checked too
 */
public record SealedManifests(Supplier<Map<String, Seal>> byBackupId) {
    /** Where a sealed backup's manifest must be ({@code chainId}) and the SHA-256 it was sealed with. */
    public record Seal(String chainId, String sha256) {
    }
}
