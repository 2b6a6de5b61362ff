package dev.lifeboat.catalog.domain;

import dev.lifeboat.contracts.BackupType;

import java.time.Instant;

/**
 * A page of backups, newest first. Every filter is optional; {@code from} is inclusive and {@code to} exclusive,
 * both on requested_at; {@code after}: the page starts after this cursor (null: the first page).
 */
public record BackupQuery(String sourceId, BackupStatus status, BackupType type, Instant from, Instant to,
                          ListCursor after, int size) {
    public static final int DEFAULT_SIZE = 20;
    public static final int MAX_SIZE = 200;
}
