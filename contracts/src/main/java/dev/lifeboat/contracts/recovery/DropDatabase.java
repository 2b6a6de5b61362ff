package dev.lifeboat.contracts.recovery;

import java.time.Instant;

/** Command to snapshot-worker (compensation, or a drill's cleanup): drop the database if it exists. */
public record DropDatabase(String commandId, String runId, int step, DatabaseTarget target, Instant deadline)
        implements RecoveryCommand {

    public DropDatabase(String commandId, String runId, int step, DatabaseTarget target) {
        this(commandId, runId, step, target, null);
    }
}
