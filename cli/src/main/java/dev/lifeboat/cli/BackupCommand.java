package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.cli.Settings.Service;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static dev.lifeboat.cli.Output.text;

/** {@code lifeboat backup create|ls|show|verify}. */
@Command(name = "backup", description = "Backups: create (--wait shows live progress), ls, show, verify",
        subcommands = {BackupCommand.Create.class, BackupCommand.Ls.class, BackupCommand.Show.class,
                BackupCommand.Verify.class})
final class BackupCommand {

    @Command(name = "create", description = "Requests a backup of a source now (operator). With --wait: follows it "
            + "to its end with a progress bar (phase, bytes, percent, rate, ETA) and exits 1 if it FAILED.")
    static final class Create extends Cmd {
        @Parameters(paramLabel = "SOURCE")
        String source;
        @Option(names = "--type", description = "FULL (default), INCREMENTAL or DIFFERENTIAL")
        String type = "FULL";
        @Option(names = "--policy", paramLabel = "POLICY", description = "the policy whose destination and retention apply")
        String policy;
        @Option(names = "--wait", description = "follow the backup until it ends")
        boolean await;
        @Option(names = "--wait-timeout", paramLabel = "SECONDS", description = "how long --wait waits (default 21600, 6 h)")
        long waitTimeout = 21600;

        @Override
        public Integer call() {
            checkId("source id", source, NAME);
            String t = type.toUpperCase(Locale.ROOT);
            if (!List.of("FULL", "INCREMENTAL", "DIFFERENTIAL").contains(t)) {
                throw usage("--type: FULL, INCREMENTAL or DIFFERENTIAL");
            }
            if (waitTimeout < 1) {
                throw usage("--wait-timeout: at least 1 second");
            }
            ObjectNode order = Api.JSON.createObjectNode().put("sourceId", source).put("type", t);
            if (policy != null) {
                order.put("policyId", checkId("policy id", policy, NAME));
            }
            JsonNode accepted = api().post(Service.SCHEDULER, "/api/v1/backups", order);
            String id = text(accepted, "/backupId");
            if (!await) {
                if (!out().structured(accepted)) {
                    out().out.println("backup " + id + " requested (" + t + " of " + source + ")");
                }
                return ExitCodes.OK;
            }
            out().err.println("backup " + id + " requested (" + t + " of " + source + ")");
            JsonNode end = new BackupWatch(api(), out(), id, Duration.ofSeconds(waitTimeout)).await();
            if (!out().structured(end)) {
                out().out.println(summary(out(), end));
                out().out.flush();
            }
            return "COMPLETED".equals(text(end, "/status")) ? ExitCodes.OK : ExitCodes.FAILED;
        }
    }

    static String summary(Output o, JsonNode b) {
        String status = text(b, "/status");
        StringBuilder sb = new StringBuilder("backup ").append(text(b, "/backupId")).append(' ')
                .append(o.paint("COMPLETED".equals(status) ? Output.Colour.GREEN : Output.Colour.RED, status));
        if ("COMPLETED".equals(status)) {
            sb.append(": ").append(Output.bytes(Output.longOrNull(b, "/sizeBytes"))).append(" stored");
            if (b.hasNonNull("rawBytes")) {
                sb.append(" (").append(Output.bytes(Output.longOrNull(b, "/rawBytes"))).append(" read)");
            }
            sb.append(" in ").append(Output.millis(Output.longOrNull(b, "/durationMs")));
        } else if (b.hasNonNull("failure")) {
            sb.append(": ").append(text(b, "/failure/stage")).append(": ").append(text(b, "/failure/reason"));
        }
        return sb.toString();
    }

    @Command(name = "ls", description = "Lists backups, newest first: chain, type, size, duration, verification, locations")
    static final class Ls extends Cmd {
        @Option(names = "--source", paramLabel = "SOURCE")
        String source;
        @Option(names = "--status", description = "REQUESTED, RUNNING, SNAPSHOT_CREATED, COMPLETED, FAILED or DELETED")
        String status;
        @Option(names = "--type", description = "FULL, INCREMENTAL or DIFFERENTIAL")
        String type;
        @Option(names = "--from", paramLabel = "INSTANT", description = "requested at or after (ISO-8601)")
        String from;
        @Option(names = "--to", paramLabel = "INSTANT", description = "requested before (ISO-8601)")
        String to;
        @Mixin
        Paging paging;

        @Override
        public Integer call() {
            Map<String, String> q = new LinkedHashMap<>();
            if (source != null) {
                q.put("sourceId", checkId("source id", source, NAME));
            }
            q.put("status", status == null ? null : status.toUpperCase(Locale.ROOT));
            q.put("type", type == null ? null : type.toUpperCase(Locale.ROOT));
            q.put("from", from);
            q.put("to", to);
            Page p = list(Service.CATALOG, "/api/v1/backups", q, paging.limit, paging.cursor, paging.page);
            if (out().structured(p.toJson())) {
                return ExitCodes.OK;
            }
            Output.Table t = new Output.Table("BACKUP", "SOURCE", "TYPE", "STATUS", "CHAIN", "REQUESTED", "DURATION",
                    "SIZE", "VERIFIED", "LOCATIONS");
            for (JsonNode b : p.items()) {
                t.row(text(b, "/backupId"), text(b, "/sourceId"), text(b, "/type"), out().status(text(b, "/status")),
                        chain(b), Output.time(b, "/requestedAt"), Output.millis(Output.longOrNull(b, "/durationMs")),
                        Output.bytes(Output.longOrNull(b, "/sizeBytes")), text(b, "/verification/state"),
                        locations(b));
            }
            t.print(out().out);
            moreHint(p, p.items().size());
            return ExitCodes.OK;
        }
    }

    /** "chain 1a2b3c4d ← 5e6f7a8b" (its chain and parent, short), or "-" for a backup outside chains. */
    static String chain(JsonNode b) {
        if (!b.hasNonNull("chain")) {
            return null;
        }
        String c = Output.shortId(text(b, "/chain/chainId"));
        String parent = Output.shortId(text(b, "/chain/parentBackupId"));
        return parent == null ? c : c + "<-" + parent;
    }

    static String locations(JsonNode b) {
        List<String> l = new ArrayList<>();
        for (JsonNode loc : b.path("locations")) {
            String role = text(loc, "/role");
            l.add(role == null ? text(loc, "/bucket") : role);
        }
        return l.isEmpty() ? null : String.join(",", l);
    }

    @Command(name = "show", description = "One backup: chain, size, transfer, verification, locations, events")
    static final class Show extends Cmd {
        @Parameters(paramLabel = "BACKUP_ID")
        String id;

        @Override
        public Integer call() {
            JsonNode b = api().get(Service.CATALOG, "/api/v1/backups/" + checkId("backup id", id, UUID));
            if (out().structured(b)) {
                return ExitCodes.OK;
            }
            List<String[]> f = new ArrayList<>();
            f.add(new String[]{"backup", text(b, "/backupId")});
            f.add(new String[]{"source", text(b, "/sourceId") + (b.hasNonNull("method") ? " (" + text(b, "/method") + ")" : "")});
            f.add(new String[]{"type", text(b, "/type")});
            f.add(new String[]{"status", out().status(text(b, "/status"))});
            f.add(new String[]{"policy", text(b, "/policyId")});
            f.add(new String[]{"requested", Output.time(b, "/requestedAt") + " by " + text(b, "/requestedBy")});
            f.add(new String[]{"completed", Output.time(b, "/completedAt")});
            f.add(new String[]{"duration", Output.millis(Output.longOrNull(b, "/durationMs"))});
            f.add(new String[]{"size", Output.bytes(Output.longOrNull(b, "/sizeBytes")) + " stored, "
                    + Output.bytes(Output.longOrNull(b, "/rawBytes")) + " read"});
            if (b.hasNonNull("chain")) {
                f.add(new String[]{"chain", text(b, "/chain/chainId") + (b.at("/chain/parentBackupId").isTextual()
                        ? ", parent " + text(b, "/chain/parentBackupId") : "")});
            }
            if (b.hasNonNull("transfer")) {
                f.add(new String[]{"transfer", text(b, "/transfer/chunksUploaded") + "/" + text(b, "/transfer/chunksTotal")
                        + " chunks uploaded, dedup ratio " + text(b, "/transfer/dedupRatio")});
            }
            f.add(new String[]{"sha256", text(b, "/sha256")});
            f.add(new String[]{"verification", b.hasNonNull("verification") ? text(b, "/verification/state")
                    + (b.at("/verification/verifiedAt").isTextual() ? " at " + Output.time(b, "/verification/verifiedAt") : "")
                    + (b.at("/verification/problems").isTextual() ? ": " + text(b, "/verification/problems") : "") : null});
            if (b.hasNonNull("failure")) {
                f.add(new String[]{"failure", text(b, "/failure/stage") + ": " + text(b, "/failure/reason")});
            }
            if (b.hasNonNull("physical")) {
                f.add(new String[]{"PostgreSQL", text(b, "/physical/pgVersion") + ", timeline "
                        + text(b, "/physical/timeline") + ", LSN " + text(b, "/physical/startLsn") + " .. "
                        + text(b, "/physical/stopLsn")});
            }
            out().fields(f);
            if (!b.path("locations").isEmpty()) {
                out().out.println();
                Output.Table t = new Output.Table("LOCATION", "STATE", "BUCKET", "MANIFEST", "VERIFICATION");
                for (JsonNode l : b.path("locations")) {
                    t.row(text(l, "/role"), text(l, "/state"), text(l, "/bucket"), text(l, "/manifestKey"),
                            text(l, "/verification"));
                }
                t.print(out().out);
            }
            if (!b.path("events").isEmpty()) {
                out().out.println();
                Output.Table t = new Output.Table("AT", "EVENT");
                for (JsonNode e : b.path("events")) {
                    t.row(Output.time(e, "/time"), text(e, "/type"));
                }
                t.print(out().out);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "verify", description = "Full verification (operator): storage-worker reads, authenticates and "
            + "hashes every chunk. Exit 1 when the backup is corrupt.")
    static final class Verify extends Cmd {
        @Parameters(paramLabel = "BACKUP_ID")
        String id;

        @Override
        public Integer call() {
            JsonNode r = api().post(Service.STORAGE, "/api/v1/backups/" + checkId("backup id", id, UUID) + "/verify",
                    null);
            boolean ok = r.path("ok").asBoolean(false);
            if (!out().structured(r)) {
                out().fields(List.of(new String[]{"backup", text(r, "/backupId")},
                        new String[]{"level", text(r, "/level")}, new String[]{"outcome", text(r, "/outcome")},
                        new String[]{"checked", text(r, "/chunksChecked") + " chunks, "
                                + Output.bytes(Output.longOrNull(r, "/bytesChecked")) + " in "
                                + Output.millis(Output.longOrNull(r, "/durationMs"))}));
                for (JsonNode p : r.path("problems")) {
                    out().out.println("problem: " + text(p, "/file") + " chunk " + text(p, "/chunkId") + ": "
                            + text(p, "/what"));
                }
                out().out.println(ok ? out().paint(Output.Colour.GREEN, "verified")
                        : out().paint(Output.Colour.RED, "verification failed"));
                out().out.flush();
            }
            return ok ? ExitCodes.OK : ExitCodes.FAILED;
        }
    }
}
