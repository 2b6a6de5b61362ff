package dev.lifeboat.recovery.domain;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * What one action of a run produced, kept in its step's {@code details} under the action's name (as answered by
 * GET /runs/{id}). Map-like nulls are written out, as the API always showed them.
 */
public sealed interface ActionResult {

    /** How an action ended: the engine's input for the transition it causes. */
    record Outcome(boolean ok, String message, ActionResult result) {
    }

    /** A participant's result, exactly as it answered it: the coordinator keeps it, it does not reshape it. */
    record Reply(@JsonValue ObjectNode fields) implements ActionResult {
    }

    /** A command or coordinator action that got no outcome before its deadline. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    record TimedOut(boolean timedOut) implements ActionResult {
        public TimedOut() {
            this(true);
        }
    }

    /** RestartServices: every endpoint called, in order, up to the first that did not answer as expected. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    record Restarted(List<Call> calls) implements ActionResult {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    record Call(String method, String url, int expectedStatus, int attempts, String outcome) {
    }

    /** NotifyStakeholders (and the notice of a failed run): each webhook with how it answered. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Notified(List<Sent> webhooks) implements ActionResult {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    record Sent(String url, String outcome) {
    }

    /** What became of a restore's target when the run could not keep its usual course (kept, or dropped late). */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    record TargetState(String database, String state) implements ActionResult {
    }
}
