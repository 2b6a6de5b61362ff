package dev.lifeboat.repository.snapshot.retention;

/**
 * What the latest conclusive verification said about a backup's bytes. A verification that could not read the
 * store leaves this unchanged: only a proven integrity failure makes a backup CORRUPT.
 */
public enum Integrity {
    /** Checked at sealing only (every chunk present with its size), or fully verified by no one yet. */
    UNVERIFIED,
    /** Its latest full verification read, authenticated and hashed every chunk. */
    VERIFIED,
    /** Its latest verification found a chunk missing, of the wrong size, or failing authentication or hash. */
    CORRUPT
}
