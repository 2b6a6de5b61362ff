package dev.lifeboat.repository.snapshot.retention;

/** Why a backup survives retention. A backup may have several reasons. */
public enum KeepReason {
    /** The newest completed backup of the policy: never expired, whatever the counts. */
    NEWEST,
    DAILY,
    WEEKLY,
    MONTHLY,
    /** A kept backup cannot be restored without it. */
    DEPENDENCY
}
