package dev.lifeboat.catalog.domain;

import java.util.List;

/** A backup with its events, oldest first. */
public record BackupHistory(Backup backup, List<BackupEvent> events) {
}
