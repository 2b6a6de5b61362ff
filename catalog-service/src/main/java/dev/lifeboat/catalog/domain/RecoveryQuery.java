package dev.lifeboat.catalog.domain;

import dev.lifeboat.contracts.recovery.RunMode;

/**
 * A page of recovery and drill runs, newest first (by startedAt). Every filter is optional; {@code after}: the page
 * starts after this cursor (null: the first page).
 */
public record RecoveryQuery(RunMode mode, String planId, RecoveryStatus status, String sourceId, ListCursor after,
                            int size) {
    public static final int DEFAULT_SIZE = 20;
    public static final int MAX_SIZE = 200;
}
