package dev.lifeboat.contracts.recovery;

/**
 * A saga step command on {@code lifeboat.recovery.commands.v1}, keyed by run id. {@code commandId} is
 * deterministic ({@code <runId>:<step>:<action>}), so a participant that sees it twice acts once and answers
 * again with the same reply.
 */
public interface RecoveryCommand {
    String commandId();

    String runId();

    int step();

    static String commandId(String runId, int step, String action) {
        return runId + ":" + step + ":" + action;
    }
}
