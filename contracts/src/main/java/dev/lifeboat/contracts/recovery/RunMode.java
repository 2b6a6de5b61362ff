package dev.lifeboat.contracts.recovery;

/** RECOVERY restores into the plan's target; DRILL into a scratch database that is dropped afterwards. */
public enum RunMode { RECOVERY, DRILL }
