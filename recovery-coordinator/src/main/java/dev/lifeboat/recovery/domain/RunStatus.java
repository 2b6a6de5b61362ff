package dev.lifeboat.recovery.domain;

public enum RunStatus {
    PENDING, RUNNING, COMPENSATING, SUCCEEDED, FAILED, COMPENSATED;

    public boolean finished() {
        return this == SUCCEEDED || this == FAILED || this == COMPENSATED;
    }
}
