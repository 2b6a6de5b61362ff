package dev.lifeboat.contracts;

/** Periodic progress of a running backup. percent is an estimate and may be absent. */
public record BackupProgress(String backupId, String sourceId, String phase, long bytesDone, Integer percent, String workerId) {
}
