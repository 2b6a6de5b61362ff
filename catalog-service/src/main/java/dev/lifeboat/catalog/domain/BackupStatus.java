package dev.lifeboat.catalog.domain;

/**
 * Where a backup is in its life. Events arrive out of order across topics, so the status only moves forward
 * along {@link #rank()}; COMPLETED and FAILED are final: whichever of them is recorded first stays.
 */
public enum BackupStatus {
    REQUESTED(0), RUNNING(1), SNAPSHOT_CREATED(2), COMPLETED(3), FAILED(3);

    private final int rank;

    BackupStatus(int rank) {
        this.rank = rank;
    }

    public int rank() {
        return rank;
    }

    public boolean isFinal() {
        return this == COMPLETED || this == FAILED;
    }

    /** The status after an event that implies {@code next}. */
    public BackupStatus advanceTo(BackupStatus next) {
        return isFinal() || next.rank <= rank ? this : next;
    }
}
