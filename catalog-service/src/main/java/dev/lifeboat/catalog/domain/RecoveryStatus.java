package dev.lifeboat.catalog.domain;

/** RUNNING until the run's RecoveryFinished is seen; the other three are RecoveryFinished's final statuses. */
public enum RecoveryStatus {
    RUNNING, SUCCEEDED, FAILED, COMPENSATED;

    public boolean isFinal() {
        return this != RUNNING;
    }
}
