package dev.lifeboat.repository.snapshot.retention;

/** Why a backup survives retention. A backup may have several reasons. */
public enum KeepReason {
    /** The newest completed backup of the policy that is not corrupt: never expired, whatever the counts. */
    NEWEST,
    /** The newest backup whose full verification passed: never expired, so a proven good restore always remains. */
    NEWEST_VERIFIED,
    DAILY,
    WEEKLY,
    MONTHLY,
    /** A kept backup cannot be restored without it. */
    DEPENDENCY
}
