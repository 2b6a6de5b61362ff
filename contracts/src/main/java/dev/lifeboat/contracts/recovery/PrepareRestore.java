package dev.lifeboat.contracts.recovery;

import java.time.Instant;

/**
 * Command to storage-worker: find the backup to restore and check it is usable. Either {@code backupId}, or the
 * latest completed, not failed-verification backup of {@code sourceId}; with {@code maxAgeSeconds} (the plan's RPO)
 * the backup must not be older than that, else the reply fails.
 */
public record PrepareRestore(String commandId, String runId, int step, String sourceId, String backupId,
                             Long maxAgeSeconds, Instant deadline) implements RecoveryCommand {

    public PrepareRestore(String commandId, String runId, int step, String sourceId, String backupId,
                          Long maxAgeSeconds) {
        this(commandId, runId, step, sourceId, backupId, maxAgeSeconds, null);
    }
}
