package dev.lifeboat.contracts.recovery;

import java.time.Instant;

/**
 * Command to snapshot-worker: restore the physical base backup {@code backup} of a source into a new cluster
 * {@code target}, replay the source's archived WAL to {@code recoveryTarget}, promote it and leave it running.
 * Refused when the archive has a hole before the target (the reply names the last reachable point).
 */
public record RestoreCluster(String commandId, String runId, int step, BackupLocation backup, ClusterTarget target,
                             RecoveryTarget recoveryTarget, Instant deadline) implements RecoveryCommand {
}
