package dev.lifeboat.contracts;

import java.time.Instant;
import java.util.List;

/**
 * A verification of a sealed chunked backup ran. {@code level} is QUICK (every chunk present with its size) or FULL
 * (every chunk read, authenticated and hashed). {@code ok} false means the backup is not usable for restore;
 * {@code problems} then names each bad chunk as "file: chunk &lt;id&gt;: what". One event per verification run.
 */
public record BackupVerified(String backupId, String sourceId, String level, boolean ok, List<String> problems,
                             Instant verifiedAt) {
    public static final String QUICK = "QUICK";
    public static final String FULL = "FULL";

    public BackupVerified {
        problems = problems == null ? List.of() : List.copyOf(problems);
    }
}
