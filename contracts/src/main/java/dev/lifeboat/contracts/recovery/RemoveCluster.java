package dev.lifeboat.contracts.recovery;

import java.time.Instant;

/**
 * Command to snapshot-worker (compensation of RestoreCluster, or a drill's cleanup): stop the cluster and remove
 * its data directory if it exists.
 */
public record RemoveCluster(String commandId, String runId, int step, ClusterTarget target, Instant deadline)
        implements RecoveryCommand {
}
