package dev.lifeboat.contracts.recovery;

import java.time.Instant;
import java.util.List;

/**
 * Command to snapshot-worker: run checks on a restored database and report each outcome. {@code backup} is the
 * backup restored into {@code target}: TABLE_MATCHES_SOURCE checks compare with what it recorded (null when the
 * command has no such check).
 */
public record VerifyDatabase(String commandId, String runId, int step, DatabaseTarget target, List<SqlCheck> checks,
                             BackupLocation backup, Instant deadline) implements RecoveryCommand {

    public VerifyDatabase(String commandId, String runId, int step, DatabaseTarget target, List<SqlCheck> checks,
                          BackupLocation backup) {
        this(commandId, runId, step, target, checks, backup, null);
    }

    public VerifyDatabase(String commandId, String runId, int step, DatabaseTarget target, List<SqlCheck> checks) {
        this(commandId, runId, step, target, checks, null, null);
    }
}
