package dev.lifeboat.contracts.recovery;

import java.time.Instant;
import java.util.Map;

/**
 * A participant's answer to one command, on its own topic ({@code lifeboat.recovery.replies.<service>.v1}) keyed
 * by run id and correlated by {@code commandId}. {@code result} carries what the step produced (for a restore:
 * tables and row counts, timings; for checks: each check with its outcome); {@code message} says what happened, or
 * why it failed.
 */
public record StepReply(String commandId, String runId, int step, String command, String participant, Outcome outcome,
                        String message, Map<String, Object> result, Instant startedAt, Instant finishedAt) {
    public enum Outcome { COMPLETED, FAILED }

    public boolean completed() {
        return outcome == Outcome.COMPLETED;
    }
}
