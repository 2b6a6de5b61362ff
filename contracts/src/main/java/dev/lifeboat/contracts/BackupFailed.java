package dev.lifeboat.contracts;

import java.time.Instant;

/** A backup that did not complete. reason is written for a person: what went wrong and what to check. */
public record BackupFailed(String backupId, String sourceId, String stage, String reason, Instant failedAt) {
}
