package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.cli.Settings.Service;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.lifeboat.cli.Output.text;

/** {@code lifeboat policy add|ls|show|retention}: backup policies on scheduler-service. */
@Command(name = "policy", description = "Backup policies: add, ls, show, retention",
        subcommands = {PolicyCommand.Add.class, PolicyCommand.Ls.class, PolicyCommand.Show.class,
                PolicyCommand.Retention.class})
final class PolicyCommand {

    @Command(name = "add", description = "Creates a policy (admin): a schedule, a backup type, retention, an RPO")
    static final class Add extends Cmd {
        @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "the policy as YAML or JSON (- for stdin); flags override its fields")
        Path file;
        @Option(names = "--id", description = "policy id (default: chosen by the service)")
        String id;
        @Option(names = "--source", paramLabel = "SOURCE")
        String source;
        @Option(names = "--type", description = "FULL, INCREMENTAL or DIFFERENTIAL")
        String type;
        @Option(names = "--schedule", paramLabel = "CRON", description = "5-field cron, UTC (e.g. '0 2 * * *')")
        String schedule;
        @Option(names = "--rpo", paramLabel = "DURATION", description = "ISO-8601, e.g. PT24H")
        String rpo;
        @Option(names = "--keep-daily")
        Integer daily;
        @Option(names = "--keep-weekly")
        Integer weekly;
        @Option(names = "--keep-monthly")
        Integer monthly;
        @Option(names = "--bucket", description = "destination bucket")
        String bucket;
        @Option(names = "--prefix", description = "destination prefix")
        String prefix;
        @Option(names = "--disabled", description = "create it disabled")
        boolean disabled;

        @Override
        public Integer call() {
            ObjectNode body = file == null ? Api.JSON.createObjectNode() : (ObjectNode) readDocument(file);
            if (id != null) {
                body.put("id", checkId("policy id", id, NAME));
            }
            if (source != null) {
                body.put("sourceId", checkId("source id", source, NAME));
            }
            if (type != null) {
                body.put("type", type.toUpperCase(java.util.Locale.ROOT));
            }
            if (schedule != null) {
                body.put("schedule", schedule);
            }
            if (rpo != null) {
                body.put("rpo", rpo);
            }
            if (daily != null || weekly != null || monthly != null) {
                ObjectNode r = body.with("retention");
                if (daily != null) r.put("daily", daily);
                if (weekly != null) r.put("weekly", weekly);
                if (monthly != null) r.put("monthly", monthly);
            }
            if (bucket != null || prefix != null) {
                ObjectNode d = body.with("destination");
                if (bucket != null) d.put("bucket", bucket);
                if (prefix != null) d.put("prefix", prefix);
            }
            if (disabled) {
                body.put("enabled", false);
            }
            if (!body.hasNonNull("sourceId") || !body.hasNonNull("type") || !body.hasNonNull("schedule")) {
                throw usage("a policy needs --source, --type and --schedule (or them in --file)");
            }
            JsonNode saved = api().post(Service.SCHEDULER, "/api/v1/policies", body);
            if (!out().structured(saved)) {
                out().out.println("policy " + text(saved, "/id") + " created for source " + text(saved, "/sourceId"));
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "ls", description = "Lists policies")
    static final class Ls extends Cmd {
        @Option(names = "--source", paramLabel = "SOURCE", description = "only this source's")
        String source;

        @Override
        public Integer call() {
            Map<String, String> q = new HashMap<>();
            if (source != null) {
                q.put("sourceId", checkId("source id", source, NAME));
            }
            JsonNode policies = api().get(Service.SCHEDULER, "/api/v1/policies", q);
            if (out().structured(policies)) {
                return ExitCodes.OK;
            }
            Output.Table t = new Output.Table("ID", "SOURCE", "TYPE", "SCHEDULE", "RPO", "RETENTION", "ENABLED",
                    "DESTINATION");
            for (JsonNode p : policies) {
                t.row(text(p, "/id"), text(p, "/sourceId"), text(p, "/type"), text(p, "/schedule"), text(p, "/rpo"),
                        retention(p.path("retention")), text(p, "/enabled"),
                        p.hasNonNull("destination") ? text(p, "/destination/bucket") + "/"
                                + String.valueOf(text(p, "/destination/prefix")) : null);
            }
            t.print(out().out);
            return ExitCodes.OK;
        }
    }

    static String retention(JsonNode r) {
        if (r.isMissingNode() || r.isNull()) {
            return null;
        }
        return "d" + r.path("daily").asText("-") + " w" + r.path("weekly").asText("-") + " m"
                + r.path("monthly").asText("-");
    }

    @Command(name = "show", description = "One policy")
    static final class Show extends Cmd {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() {
            JsonNode p = api().get(Service.SCHEDULER, "/api/v1/policies/" + checkId("policy id", id, NAME));
            if (out().structured(p)) {
                return ExitCodes.OK;
            }
            List<String[]> f = new ArrayList<>();
            p.fields().forEachRemaining(e -> f.add(new String[]{e.getKey(),
                    e.getValue().isValueNode() ? e.getValue().asText() : e.getValue().toString()}));
            out().fields(f);
            return ExitCodes.OK;
        }
    }

    @Command(name = "retention", description = "What the policy's retention keeps (with reasons) and what would expire")
    static final class Retention extends Cmd {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() {
            JsonNode r = api().get(Service.SCHEDULER, "/api/v1/policies/" + checkId("policy id", id, NAME)
                    + "/retention");
            if (out().structured(r)) {
                return ExitCodes.OK;
            }
            Output.Table t = new Output.Table("BACKUP", "COMPLETED", "TYPE", "DECISION", "REASONS", "INTEGRITY");
            for (String list : List.of("keep", "expire")) {
                for (JsonNode b : r.path(list)) {
                    List<String> reasons = new ArrayList<>();
                    b.path("reasons").forEach(x -> reasons.add(x.asText()));
                    t.row(text(b, "/backupId"), Output.time(b, "/completedAt"), text(b, "/type"),
                            list.equals("keep") ? out().paint(Output.Colour.GREEN, "keep")
                                    : out().paint(Output.Colour.YELLOW, "expire"),
                            reasons.isEmpty() ? null : String.join(", ", reasons), text(b, "/integrity"));
                }
            }
            out().out.println("policy " + text(r, "/policyId") + " (source " + text(r, "/sourceId") + "), retention "
                    + retention(r.path("retention")) + ", evaluated " + Output.time(r, "/evaluatedAt"));
            t.print(out().out);
            return ExitCodes.OK;
        }
    }
}
