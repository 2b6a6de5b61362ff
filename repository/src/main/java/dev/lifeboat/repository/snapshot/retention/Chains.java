package dev.lifeboat.repository.snapshot.retention;

import dev.lifeboat.repository.snapshot.BackupType;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Works out which backup each backup of a source depends on. A completed chunked backup says so itself:
 * BackupCompleted carries its repository chain and the backup it was taken against (an INCREMENTAL's parent is the
 * chain's newest backup at the time, a DIFFERENTIAL's the chain's FULL), and that is used as is. For a backup without
 * that information (a single archive, or a row recorded before the scheduler stored it) the dependency is inferred
 * from the order in which backups completed: backups of one source are taken in order (BackupRequested is keyed by
 * source), so a chain is the FULL and everything after it up to the next FULL; an INCREMENTAL depends on the backup
 * just before it, a DIFFERENTIAL on the chain's FULL, and one with no FULL before it is a FULL (the worker promotes
 * it).
 */
public final class Chains {
    private static final Comparator<SourceBackup> OLDEST_FIRST = Comparator
            .comparing(SourceBackup::completedAt).thenComparing(SourceBackup::backupId);

    /**
     * A completed (or already expired) backup of the source, whichever policy or request it came from.
     * {@code chainId} and {@code parentBackupId} are what the repository recorded (null when unknown);
     * {@code integrity} what its latest conclusive verification said.
     */
    public record SourceBackup(String backupId, Instant completedAt, BackupType type, String chainId,
                               String parentBackupId, Integrity integrity) {
        /** A backup without chain information: its dependency is inferred from completion order. */
        public SourceBackup(String backupId, Instant completedAt, BackupType type) {
            this(backupId, completedAt, type, null, null, Integrity.UNVERIFIED);
        }

        /** A backup checked at sealing only. */
        public SourceBackup(String backupId, Instant completedAt, BackupType type, String chainId,
                            String parentBackupId) {
            this(backupId, completedAt, type, chainId, parentBackupId, Integrity.UNVERIFIED);
        }

        boolean hasChainInfo() {
            return chainId != null && !chainId.isBlank();
        }
    }

    private Chains() {
    }

    /** Every backup of the source with its chain and direct dependency, oldest first. */
    public static List<RetainedBackup> link(List<SourceBackup> sourceHistory) {
        List<RetainedBackup> linked = new ArrayList<>();
        String chainLabel = null;
        String fullId = null;
        String previous = null;
        for (SourceBackup b : sourceHistory.stream().sorted(OLDEST_FIRST).toList()) {
            String chainId;
            String dependsOn;
            if (b.hasChainInfo()) {
                chainId = b.chainId();
                dependsOn = b.type() == BackupType.FULL ? null : b.parentBackupId();
                if (b.type() == BackupType.FULL) {
                    // a later backup without chain information is inferred to extend the newest FULL
                    chainLabel = b.chainId();
                    fullId = b.backupId();
                }
            } else if (b.type() == BackupType.FULL || chainLabel == null) {
                chainLabel = b.backupId();
                fullId = b.backupId();
                chainId = chainLabel;
                dependsOn = null;
            } else {
                chainId = chainLabel;
                dependsOn = b.type() == BackupType.DIFFERENTIAL ? fullId : previous;
            }
            linked.add(new RetainedBackup(b.backupId(), b.completedAt(), b.type(), chainId, dependsOn,
                    b.integrity()));
            previous = b.backupId();
        }
        return linked;
    }

    /**
     * The backups in {@code scope} (one policy's) with each dependency moved to its nearest ancestor inside the
     * scope. Skipping backups of other policies keeps every in-scope ancestor on the path, so "keep what a kept
     * backup depends on" still holds transitively; backups outside the scope are never expired by this policy.
     */
    public static List<RetainedBackup> within(List<RetainedBackup> linked, Set<String> scope) {
        Map<String, RetainedBackup> byId = new HashMap<>();
        linked.forEach(b -> byId.put(b.backupId(), b));
        List<RetainedBackup> result = new ArrayList<>();
        for (RetainedBackup b : linked) {
            if (!scope.contains(b.backupId())) {
                continue;
            }
            String parent = b.dependsOn();
            while (parent != null && !scope.contains(parent)) {
                RetainedBackup p = byId.get(parent);
                parent = p == null ? null : p.dependsOn();
            }
            result.add(new RetainedBackup(b.backupId(), b.completedAt(), b.type(), b.chainId(), parent,
                    b.integrity()));
        }
        return result;
    }
}
