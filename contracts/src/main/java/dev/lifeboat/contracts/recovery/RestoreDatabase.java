package dev.lifeboat.contracts.recovery;

import java.time.Instant;

/**
 * Command to snapshot-worker: restore {@code backup} into {@code target}, which is created. When the database
 * exists already the restore is refused, unless {@code replaceExisting} (a recovery an admin started with that
 * flag): then the existing database is dropped first. {@code jobs} parallel pg_restore jobs. Senders without the
 * flag (older coordinators) mean false.
 */
public record RestoreDatabase(String commandId, String runId, int step, BackupLocation backup, DatabaseTarget target,
                              int jobs, boolean replaceExisting, Instant deadline) implements RecoveryCommand {

    /** A restore without a deadline. */
    public RestoreDatabase(String commandId, String runId, int step, BackupLocation backup, DatabaseTarget target,
                           int jobs, boolean replaceExisting) {
        this(commandId, runId, step, backup, target, jobs, replaceExisting, null);
    }

    /** A restore that refuses an existing database. */
    public RestoreDatabase(String commandId, String runId, int step, BackupLocation backup, DatabaseTarget target,
                           int jobs) {
        this(commandId, runId, step, backup, target, jobs, false, null);
    }
}
