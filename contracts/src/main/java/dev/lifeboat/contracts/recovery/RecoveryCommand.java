package dev.lifeboat.contracts.recovery;

import java.time.Instant;

/**
 * A saga step command on {@code lifeboat.recovery.commands.v1}, keyed by run id. {@code commandId} is
 * deterministic ({@code <runId>:<step>:<action>}), so a participant that sees it twice acts once and answers
 * again with the same reply. {@code deadline} (optional; absent from older coordinators) is when the coordinator
 * stops waiting for the reply: a participant does not start the command after it, since the run has moved on
 * (compensated or failed) and work done then would appear behind its back.
 */
public interface RecoveryCommand {
    String commandId();

    String runId();

    int step();

    Instant deadline();

    static String commandId(String runId, int step, String action) {
        return runId + ":" + step + ":" + action;
    }
}
