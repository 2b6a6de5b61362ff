package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.cli.Settings.Service;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import static dev.lifeboat.cli.Output.text;

/**
 * Follows a recovery or drill run on recovery-coordinator ({@code GET /api/v1/runs/{id}} every second) and prints
 * each step as it starts and ends, with its duration or its failure, until the run ends or the deadline passes.
 */
final class RunWatch {
    static final Set<String> FINAL = Set.of("SUCCEEDED", "FAILED", "COMPENSATED");
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    private final Api api;
    private final Output out;
    private final PrintWriter live;
    private final Map<Integer, String> stepStates = new HashMap<>();
    private String lastStatus = "";

    RunWatch(Api api, Output out) {
        this.api = api;
        this.out = out;
        // the steps go to standard output for people; beside JSON or YAML, to standard error
        this.live = out.table() ? out.out : out.err;
    }

    JsonNode await(String runId, Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        while (true) {
            JsonNode run = api.get(Service.RECOVERY, "/api/v1/runs/" + runId);
            report(run);
            if (FINAL.contains(text(run, "/status"))) {
                return run;
            }
            if (Instant.now().isAfter(deadline)) {
                throw new CliException(ExitCodes.UNREACHABLE, "run " + runId + " had not ended by the deadline "
                        + "(--wait-timeout); it goes on: lifeboat run show " + runId);
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException(ExitCodes.FAILED, "interrupted");
            }
        }
    }

    private void report(JsonNode run) {
        String status = text(run, "/status");
        if (!status.equals(lastStatus)) {
            line("run " + text(run, "/runId") + " " + out.status(status) + (run.hasNonNull("phase") ? " (" + text(run,
                    "/phase") + ")" : ""));
            lastStatus = status;
        }
        for (JsonNode s : run.path("steps")) {
            int index = s.path("index").asInt();
            String st = text(s, "/status");
            if (st == null || st.equals(stepStates.get(index))) {
                continue;
            }
            stepStates.put(index, st);
            StringBuilder sb = new StringBuilder("  step ").append(index + 1).append(' ').append(text(s, "/kind"))
                    .append(' ').append(out.status(st));
            if (s.path("durationMillis").isNumber()) {
                sb.append(" in ").append(Output.millis(s.get("durationMillis").asLong()));
            }
            if (s.hasNonNull("message") && !"SUCCEEDED".equals(st)) {
                sb.append(": ").append(text(s, "/message"));
            }
            line(sb.toString());
        }
    }

    private void line(String text) {
        live.println(LocalTime.now(ZoneOffset.UTC).format(CLOCK) + " " + text);
        live.flush();
    }

    /** The run's end in one line: status, total, RTO against the plan's target, the trace. */
    static String summary(Output o, JsonNode run) {
        String status = text(run, "/status");
        StringBuilder sb = new StringBuilder("run ").append(text(run, "/runId")).append(' ')
                .append(o.paint("SUCCEEDED".equals(status) ? Output.Colour.GREEN : Output.Colour.RED, status));
        JsonNode r = run.path("result");
        if (r.path("totalMillis").isNumber()) {
            sb.append(" in ").append(Output.millis(r.get("totalMillis").asLong()));
        }
        if (r.path("rtoMet").isBoolean()) {
            sb.append(", RTO ").append(r.get("rtoMet").asBoolean() ? o.paint(Output.Colour.GREEN, "met")
                    : o.paint(Output.Colour.RED, "missed"));
            if (r.path("rtoMillis").isNumber()) {
                sb.append(" (target ").append(Output.millis(r.get("rtoMillis").asLong())).append(')');
            }
        }
        String reason = run.hasNonNull("reason") ? text(run, "/reason") : text(r, "/reason");
        if (!"SUCCEEDED".equals(status) && reason != null) {
            sb.append(": ").append(reason);
        }
        if (run.hasNonNull("traceId")) {
            sb.append("; trace ").append(text(run, "/traceId"));
        }
        return sb.toString();
    }
}
