package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.cli.Settings.Service;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Pattern;

import static dev.lifeboat.cli.Output.text;

/**
 * {@code lifeboat restore <backup-id|latest> --target T --db NAME [--to-time T]}: a recovery run on
 * recovery-coordinator of a one-step plan {@code restore-<name>} (written or replaced here), followed live. A
 * database target gets a RestoreDatabase step; a cluster target (or {@code --to-time}) a RestoreCluster step that
 * creates the cluster NAME and replays WAL to the time.
 */
@Command(name = "restore", description = "Restores a backup (or a source's latest) into a registered target through "
        + "a recovery run (admin), showing its steps live. Exit 1 when the run does not succeed.")
final class RestoreCommand extends Cmd {
    private static final Pattern DB_NAME = Pattern.compile("^[a-z_][a-z0-9_]{0,62}$");

    @Parameters(paramLabel = "BACKUP", description = "a backup id, or 'latest' (with --source)")
    String backup;
    @Option(names = "--target", required = true, paramLabel = "TARGET", description = "a registered target server (lifeboat: GET /api/v1/targets)")
    String target;
    @Option(names = "--db", required = true, paramLabel = "NAME", description = "the database to create (a cluster target: the new cluster's name)")
    String db;
    @Option(names = "--source", paramLabel = "SOURCE", description = "whose latest backup (required with 'latest')")
    String source;
    @Option(names = "--to-time", paramLabel = "TIME", description = "point in time (ISO-8601, e.g. 2026-12-04T10:00:00Z): a physical source into a cluster target")
    String toTime;
    @Option(names = "--port", description = "a cluster target: the port of the new cluster (default 5433)")
    int port = 5433;
    @Option(names = "--replace", description = "replace an existing database of that name")
    boolean replace;
    @Option(names = "--jobs", description = "pg_restore jobs (default 2)")
    int jobs = 2;
    @Option(names = "--rto", paramLabel = "DURATION", description = "the recovery's RTO target (default PT1H)")
    String rto = "PT1H";
    @Option(names = "--no-wait", description = "start the run and return its id")
    boolean noWait;
    @Option(names = "--wait-timeout", paramLabel = "SECONDS", description = "how long to follow the run (default 21600)")
    long waitTimeout = 21600;

    @Override
    public Integer call() {
        checkId("target", target, NAME);
        if (!DB_NAME.matcher(db).matches()) {
            throw usage("--db '" + db + "': lower-case letters, digits and _, starting with a letter or _");
        }
        String at = null;
        if (toTime != null) {
            try {
                at = OffsetDateTime.parse(toTime).toInstant().toString();
            } catch (DateTimeParseException e) {
                try {
                    at = Instant.parse(toTime).toString();
                } catch (DateTimeParseException e2) {
                    throw usage("--to-time '" + toTime + "': an ISO-8601 time with offset, e.g. 2026-12-04T10:00:00Z");
                }
            }
        }
        boolean latest = "latest".equalsIgnoreCase(backup);
        String sourceId;
        if (latest) {
            if (source == null) {
                throw usage("restore latest needs --source");
            }
            sourceId = checkId("source id", source, NAME);
        } else {
            JsonNode b = api().get(Service.CATALOG, "/api/v1/backups/" + checkId("backup id", backup, UUID));
            sourceId = text(b, "/sourceId");
            if (source != null && !source.equals(sourceId)) {
                throw usage("backup " + backup + " is of source " + sourceId + ", not " + source);
            }
            if (!"COMPLETED".equals(text(b, "/status"))) {
                throw new CliException(ExitCodes.REFUSED, "backup " + backup + " is " + text(b, "/status")
                        + ", not COMPLETED: nothing to restore");
            }
        }
        JsonNode targetServer = api().get(Service.RECOVERY, "/api/v1/targets/" + target);
        boolean cluster = "cluster".equals(text(targetServer, "/kind"));
        if (at != null && !cluster) {
            throw usage("--to-time restores a physical source into a cluster target; " + target + " is a "
                    + text(targetServer, "/kind") + " target");
        }

        ObjectNode step = Api.JSON.createObjectNode();
        step.put("kind", cluster ? "RestoreCluster" : "RestoreDatabase").put("sourceId", sourceId)
                .put("backup", latest ? "latest" : backup).put("target", target);
        if (cluster) {
            step.put("cluster", db).put("port", port);
            step.putObject("recoveryTarget").put("kind", at == null ? "LATEST" : "TIME").put("value", at);
        } else {
            step.put("database", db).put("jobs", jobs);
        }
        String planId = ("restore-" + db.replace('_', '-')).toLowerCase(Locale.ROOT);
        planId = planId.length() > 63 ? planId.substring(0, 63) : planId;
        ObjectNode plan = Api.JSON.createObjectNode();
        plan.put("name", "restore of " + sourceId + " into " + target + "/" + db).put("rto", rto).put("rpo", "P3650D");
        ArrayNode steps = plan.putArray("steps");
        steps.add(step);
        Api.Response put = api().send(Service.RECOVERY, "PUT", api().uri(Service.RECOVERY, "/api/v1/plans/" + planId,
                null), plan);
        if (put.status() == 404) {
            plan.put("id", planId);
            api().post(Service.RECOVERY, "/api/v1/plans", plan);
        } else {
            api().checked(Service.RECOVERY, put);
        }
        JsonNode started = api().post(Service.RECOVERY, "/api/v1/plans/" + planId + "/runs",
                Api.JSON.createObjectNode().put("mode", "recovery").put("replaceExisting", replace));
        String runId = text(started, "/runId");
        if (noWait) {
            if (!out().structured(started)) {
                out().out.println("run " + runId + " started (plan " + planId + "): lifeboat run show " + runId);
            }
            return ExitCodes.OK;
        }
        (out().table() ? out().out : out().err).println("restoring " + (latest ? "the latest backup of " + sourceId
                : "backup " + backup + " of " + sourceId) + " into " + target + "/" + db
                + (at != null ? " at " + at : "") + " (plan " + planId + ", run " + runId + ")");
        JsonNode run = new RunWatch(api(), out()).await(runId, Duration.ofSeconds(waitTimeout));
        if (!out().structured(run)) {
            out().out.println(RunWatch.summary(out(), run));
            out().out.flush();
        }
        return "SUCCEEDED".equals(text(run, "/status")) ? ExitCodes.OK : ExitCodes.FAILED;
    }
}
