package dev.lifeboat.repository.snapshot;

/** FULL starts a chain; INCREMENTAL adds what the chain lacks; DIFFERENTIAL adds what the chain's FULL lacks. */
public enum BackupType {
    FULL, INCREMENTAL, DIFFERENTIAL
}
