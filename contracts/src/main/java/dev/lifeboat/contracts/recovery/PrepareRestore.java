package dev.lifeboat.contracts.recovery;

import java.time.Instant;

/**
 * Command to storage-worker: find the backup to restore and check it is usable. Either {@code backupId}, or the
 * latest completed, not failed-verification backup of {@code sourceId}; with {@code maxAgeSeconds} (the plan's RPO)
 * the backup must not be older than that, else the reply fails. {@code recoveryTarget} (optional, a point-in-time
 * restore's): with a TIME or LSN target the base backup must be consistent by then (its stop time or stop LSN not
 * after the target), the newest such one is chosen, and one named by id that ends after the target is refused.
 */
public record PrepareRestore(String commandId, String runId, int step, String sourceId, String backupId,
                             Long maxAgeSeconds, Instant deadline, RecoveryTarget recoveryTarget)
        implements RecoveryCommand {

    public PrepareRestore(String commandId, String runId, int step, String sourceId, String backupId,
                          Long maxAgeSeconds, Instant deadline) {
        this(commandId, runId, step, sourceId, backupId, maxAgeSeconds, deadline, null);
    }

    public PrepareRestore(String commandId, String runId, int step, String sourceId, String backupId,
                          Long maxAgeSeconds) {
        this(commandId, runId, step, sourceId, backupId, maxAgeSeconds, null, null);
    }
}
