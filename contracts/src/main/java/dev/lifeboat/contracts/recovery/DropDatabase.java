package dev.lifeboat.contracts.recovery;

/** Command to snapshot-worker (compensation, or a drill's cleanup): drop the database if it exists. */
public record DropDatabase(String commandId, String runId, int step, DatabaseTarget target) implements RecoveryCommand {
}
