package dev.lifeboat.contracts.recovery;

/**
 * Command to snapshot-worker: restore {@code backup} into {@code target}, a database that must not exist yet
 * (it is created). {@code jobs} parallel pg_restore jobs.
 */
public record RestoreDatabase(String commandId, String runId, int step, BackupLocation backup, DatabaseTarget target,
                              int jobs) implements RecoveryCommand {
}
