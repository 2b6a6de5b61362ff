package dev.lifeboat.contracts.recovery;

import java.util.List;

/** Command to snapshot-worker: run SQL checks on a restored database and report each outcome. */
public record VerifyDatabase(String commandId, String runId, int step, DatabaseTarget target, List<SqlCheck> checks)
        implements RecoveryCommand {
}
