package dev.lifeboat.contracts;

public enum BackupType {
    FULL, INCREMENTAL, DIFFERENTIAL
}
