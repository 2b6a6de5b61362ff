package dev.lifeboat.contracts;

import java.time.Instant;
import java.util.List;

/**
 * A verification of a sealed chunked backup ran. {@code level} is QUICK (every chunk present with its size) or FULL
 * (every chunk read, authenticated and hashed). {@code outcome} is the verdict:
 * <ul>
 *   <li>PASSED ({@code ok} true): every chunk checked is intact;</li>
 *   <li>CORRUPT: a chunk is missing, has the wrong size, fails its authentication tag or does not hash to its id;
 *   the backup is not usable for restore;</li>
 *   <li>UNREADABLE: the object store could not be read now (unreachable, 5xx, timeout, denied) after retries; this
 *   says nothing about the backup's bytes and never replaces an earlier PASSED or CORRUPT verdict.</li>
 * </ul>
 * {@code problems} names each bad or unread chunk as "file: chunk &lt;id&gt;: what". One event per verification run.
 * {@code outcome} is optional on the wire: a record without it means PASSED when {@code ok}, else CORRUPT.
 */
public record BackupVerified(String backupId, String sourceId, String level, boolean ok, List<String> problems,
                             Instant verifiedAt, String outcome) {
    public static final String QUICK = "QUICK";
    public static final String FULL = "FULL";
    public static final String PASSED = "PASSED";
    public static final String CORRUPT = "CORRUPT";
    public static final String UNREADABLE = "UNREADABLE";

    public BackupVerified {
        problems = problems == null ? List.of() : List.copyOf(problems);
        if (outcome == null) {
            outcome = ok ? PASSED : CORRUPT;
        }
    }

    /** A verification that read everything it had to: PASSED when {@code ok}, else CORRUPT. */
    public BackupVerified(String backupId, String sourceId, String level, boolean ok, List<String> problems,
                          Instant verifiedAt) {
        this(backupId, sourceId, level, ok, problems, verifiedAt, null);
    }

    /** PASSED or CORRUPT: a verdict on the backup's bytes, which retention and restore selection act on. */
    public boolean conclusive() {
        return !UNREADABLE.equals(outcome);
    }
}
