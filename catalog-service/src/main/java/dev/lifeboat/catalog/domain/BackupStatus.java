package dev.lifeboat.catalog.domain;

/**
 * Where a backup is in its life. Events arrive out of order across topics, so the status only moves forward
 * along {@link #rank()}; COMPLETED and FAILED are final: whichever of them is recorded first stays. DELETED
 * (its objects were removed after retention expired it) is more final still: it replaces any status, and
 * nothing replaces it, so a late BackupCompleted never makes a deleted backup restorable again.
 */
public enum BackupStatus {
    REQUESTED(0), RUNNING(1), SNAPSHOT_CREATED(2), COMPLETED(3), FAILED(3), DELETED(4);

    private final int rank;

    BackupStatus(int rank) {
        this.rank = rank;
    }

    public int rank() {
        return rank;
    }

    public boolean isFinal() {
        return this == COMPLETED || this == FAILED || this == DELETED;
    }

    /** The status after an event that implies {@code next}. */
    public BackupStatus advanceTo(BackupStatus next) {
        if (this == DELETED || next == DELETED) {
            return DELETED;
        }
        return isFinal() || next.rank <= rank ? this : next;
    }
}
