package dev.lifeboat.repository.snapshot;

import java.util.Map;
import java.util.function.Supplier;

/**
 * The SHA-256 each sealed backup's manifest had when it was sealed, by backup id, for the collectors whose deletions
 * follow what manifests say ({@link GarbageCollector}, {@link dev.lifeboat.repository.wal.WalCollector}). The
 * repository does not record seals (storage-worker does), so the caller gives them. A manifest of a backup in the map
 * decides nothing unless its bytes are still the ones sealed ({@link Repository#manifests(String, Map)}); one of a
 * backup not in it (never sealed, or not by this caller) is read as found.
 *
 * @param sha256ByBackupId asked once at the start of each pass: a backup sealed while the pass runs is read as found
 */
public record SealedManifests(Supplier<Map<String, String>> sha256ByBackupId) {
}
