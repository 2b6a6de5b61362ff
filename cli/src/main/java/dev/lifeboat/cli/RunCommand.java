package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.cli.Settings.Service;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static dev.lifeboat.cli.Output.text;

/** {@code lifeboat run ls|show}: recovery and drill runs (the catalog's record; a run's live state on the coordinator). */
@Command(name = "run", description = "Recovery and drill runs: ls, show",
        subcommands = {RunCommand.Ls.class, RunCommand.Show.class})
final class RunCommand {

    @Command(name = "ls", description = "Lists runs, newest first, with measured RTO and RPO")
    static final class Ls extends Cmd {
        @Option(names = "--mode", description = "recovery or drill")
        String mode;
        @Option(names = "--plan", paramLabel = "PLAN")
        String plan;
        @Option(names = "--source", paramLabel = "SOURCE")
        String source;
        @Option(names = "--status", description = "RUNNING, SUCCEEDED, FAILED or COMPENSATED")
        String status;
        @Mixin
        Paging paging;

        @Override
        public Integer call() {
            Map<String, String> q = new LinkedHashMap<>();
            q.put("mode", mode == null ? null : mode.toLowerCase(Locale.ROOT));
            q.put("planId", plan == null ? null : checkId("plan id", plan, SLUG));
            q.put("sourceId", source == null ? null : checkId("source id", source, NAME));
            q.put("status", status == null ? null : status.toUpperCase(Locale.ROOT));
            Page p = list(Service.CATALOG, "/api/v1/recoveries", q, paging.limit, paging.cursor, paging.page);
            if (out().structured(p.toJson())) {
                return ExitCodes.OK;
            }
            Output.Table t = new Output.Table("RUN", "PLAN", "MODE", "STATUS", "STARTED", "TOTAL", "RTO", "RPO",
                    "BACKUP");
            for (JsonNode r : p.items()) {
                t.row(text(r, "/runId"), text(r, "/planId"), lower(text(r, "/mode")), out().status(text(r, "/status")),
                        Output.time(r, "/startedAt"), Output.millis(Output.longOrNull(r, "/totalMillis")),
                        met(out(), r.path("rtoMet"), Output.millis(Output.longOrNull(r, "/rtoMillis"))),
                        met(out(), r.path("rpoMet"), Output.age(Output.longOrNull(r, "/rpoSeconds"))),
                        Output.shortId(text(r, "/backupId")));
            }
            t.print(out().out);
            moreHint(p, p.items().size());
            return ExitCodes.OK;
        }
    }

    static String lower(String s) {
        return s == null ? null : s.toLowerCase(Locale.ROOT);
    }

    /** "met (1h00m00s)" / "missed (...)" coloured; "-" when not measured. */
    static String met(Output o, JsonNode flag, String target) {
        if (!flag.isBoolean()) {
            return null;
        }
        String word = flag.asBoolean() ? o.paint(Output.Colour.GREEN, "met") : o.paint(Output.Colour.RED, "missed");
        return target == null ? word : word + " (" + target + ")";
    }

    @Command(name = "show", description = "One run with its steps (live from the coordinator, else the catalog's record)")
    static final class Show extends Cmd {
        @Parameters(paramLabel = "RUN_ID")
        String id;

        @Override
        public Integer call() {
            checkId("run id", id, UUID);
            Api.Response live = api().send(Service.RECOVERY, "GET", api().uri(Service.RECOVERY, "/api/v1/runs/" + id,
                    null), null);
            JsonNode run = live.status() == 200 ? live.json()
                    : api().get(Service.CATALOG, "/api/v1/recoveries/" + id);
            if (out().structured(run)) {
                return ExitCodes.OK;
            }
            List<String[]> f = new ArrayList<>();
            f.add(new String[]{"run", text(run, "/runId")});
            f.add(new String[]{"plan", text(run, "/planId") + (run.hasNonNull("planName") ? " (" + text(run, "/planName") + ")" : "")});
            f.add(new String[]{"mode", lower(text(run, "/mode"))});
            f.add(new String[]{"status", out().status(text(run, "/status"))});
            f.add(new String[]{"started", Output.time(run, "/startedAt")});
            f.add(new String[]{"finished", Output.time(run, "/finishedAt")});
            JsonNode result = run.has("result") ? run.path("result") : run;
            f.add(new String[]{"total", Output.millis(Output.longOrNull(result, "/totalMillis"))});
            f.add(new String[]{"RTO", met(out(), result.path("rtoMet"), Output.millis(Output.longOrNull(result, "/rtoMillis")))});
            f.add(new String[]{"RPO", met(out(), result.path("rpoMet"), null)});
            String reason = run.hasNonNull("reason") ? text(run, "/reason") : text(result, "/reason");
            if (reason != null) {
                f.add(new String[]{"reason", reason});
            }
            if (run.hasNonNull("traceId")) {
                f.add(new String[]{"trace", text(run, "/traceId")});
            }
            out().fields(f);
            if (!run.path("steps").isEmpty()) {
                out().out.println();
                Output.Table t = new Output.Table("STEP", "KIND", "STATUS", "STARTED", "DURATION", "MESSAGE");
                for (JsonNode s : run.path("steps")) {
                    t.row(String.valueOf(s.path("index").asInt() + 1), text(s, "/kind"),
                            out().status(text(s, "/status")), Output.time(s, "/startedAt"),
                            Output.millis(Output.longOrNull(s, "/durationMillis")), text(s, "/message"));
                }
                t.print(out().out);
            }
            return ExitCodes.OK;
        }
    }
}
