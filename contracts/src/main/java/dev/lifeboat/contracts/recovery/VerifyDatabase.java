package dev.lifeboat.contracts.recovery;

import java.time.Instant;
import java.util.List;

/**
 * Command to snapshot-worker: run checks on a restored database and report each outcome. {@code backup} is the
 * backup restored into {@code target}: TABLE_MATCHES_SOURCE checks compare with what it recorded (null when the
 * command has no such check). {@code cluster} (instead of {@code target}): the checks run on a cluster a
 * RestoreCluster step restored, each in the database it names, through the cluster's private local socket on the
 * worker that restored it (no password travels or is needed).
 */
public record VerifyDatabase(String commandId, String runId, int step, DatabaseTarget target, List<SqlCheck> checks,
                             BackupLocation backup, Instant deadline, ClusterTarget cluster)
        implements RecoveryCommand {

    public VerifyDatabase(String commandId, String runId, int step, DatabaseTarget target, List<SqlCheck> checks,
                          BackupLocation backup, Instant deadline) {
        this(commandId, runId, step, target, checks, backup, deadline, null);
    }

    /** Checks on a restored cluster. */
    public static VerifyDatabase onCluster(String commandId, String runId, int step, ClusterTarget cluster,
                                           List<SqlCheck> checks, Instant deadline) {
        return new VerifyDatabase(commandId, runId, step, null, checks, null, deadline, cluster);
    }

    public VerifyDatabase(String commandId, String runId, int step, DatabaseTarget target, List<SqlCheck> checks,
                          BackupLocation backup) {
        this(commandId, runId, step, target, checks, backup, null, null);
    }

    public VerifyDatabase(String commandId, String runId, int step, DatabaseTarget target, List<SqlCheck> checks) {
        this(commandId, runId, step, target, checks, null, null, null);
    }
}
