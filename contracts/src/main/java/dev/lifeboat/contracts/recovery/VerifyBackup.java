package dev.lifeboat.contracts.recovery;

/** Command to storage-worker: read and authenticate every chunk of the backup (full verification). */
public record VerifyBackup(String commandId, String runId, int step, BackupLocation backup) implements RecoveryCommand {
}
