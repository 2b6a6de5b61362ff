package dev.lifeboat.recovery.rest;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.recovery.service.RunService;

import java.time.Instant;
import java.util.List;

@JsonInclude(JsonInclude.Include.NON_NULL)
public record RunView(String runId, String planId, String planName, String mode, String trigger, String status,
                      String phase, Instant startedAt, Instant finishedAt, String traceId, String traceparent,
                      Pending pending, List<Step> steps, JsonNode result, String reason, List<JsonNode> transitions) {

    public record Pending(String commandId, int step, String action, String command, Instant deadline) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Step(int index, String kind, String status, Instant startedAt, Instant finishedAt,
                       Long durationMillis, String message, JsonNode details) {
    }

    static RunView of(RunService.RunDetails d) {
        var r = d.run();
        String traceId = r.traceparent == null ? null : r.traceparent.split("-")[1];
        Pending pending = r.pending == null ? null : new Pending(r.pending.commandId(), r.pending.step(),
                r.pending.action(), r.pending.type(), r.deadline);
        return new RunView(r.id, r.planId, r.plan.name(), r.mode.name(), r.trigger, r.status.name(), r.phase.name(),
                r.startedAt, r.finishedAt, traceId, r.traceparent, pending,
                d.steps().stream().map(s -> new Step(s.index(), s.kind(), s.status(), s.startedAt(), s.finishedAt(),
                        s.durationMillis(), s.message(), s.details())).toList(), d.result(), r.reason,
                d.transitions());
    }
}
