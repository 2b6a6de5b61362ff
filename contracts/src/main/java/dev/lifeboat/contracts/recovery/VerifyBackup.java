package dev.lifeboat.contracts.recovery;

import java.time.Instant;

/** Command to storage-worker: read and authenticate every chunk of the backup (full verification). */
public record VerifyBackup(String commandId, String runId, int step, BackupLocation backup, Instant deadline)
        implements RecoveryCommand {

    public VerifyBackup(String commandId, String runId, int step, BackupLocation backup) {
        this(commandId, runId, step, backup, null);
    }
}
