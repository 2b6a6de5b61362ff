package dev.lifeboat.repository.snapshot.retention;

/** Grandfather-father-son counts: how many days, ISO weeks and calendar months keep their newest backup. */
public record RetentionCounts(int daily, int weekly, int monthly) {
    public RetentionCounts {
        if (daily < 0 || weekly < 0 || monthly < 0) {
            throw new IllegalArgumentException("retention counts must not be negative: " + daily + "/" + weekly
                    + "/" + monthly);
        }
    }

    @Override
    public String toString() {
        return daily + " daily / " + weekly + " weekly / " + monthly + " monthly";
    }
}
