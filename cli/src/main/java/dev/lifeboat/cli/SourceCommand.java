package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.cli.Settings.Service;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.lifeboat.cli.Output.text;

/** {@code lifeboat source add|ls|show|rm|check}: the PostgreSQL sources scheduler-service knows. */
@Command(name = "source", description = "PostgreSQL sources: add, ls, show, rm, check",
        subcommands = {SourceCommand.Add.class, SourceCommand.Ls.class, SourceCommand.Show.class,
                SourceCommand.Rm.class, SourceCommand.Check.class})
final class SourceCommand {

    /** A command about one source: the source and its policies as scheduler-service holds them. */
    abstract static class OneSource extends Cmd {
        @Parameters(paramLabel = "ID")
        String id;

        record Known(JsonNode source, JsonNode policies) {
        }

        Known known() {
            JsonNode source = api().get(Service.SCHEDULER, "/api/v1/sources/" + checkId("source id", id, NAME));
            return new Known(source, api().get(Service.SCHEDULER, "/api/v1/policies", java.util.Map.of("sourceId", id)));
        }
    }

    @Command(name = "add", description = "Registers or replaces a source (admin). The password is a reference "
            + "(env:LIFEBOAT_SECRET_<NAME> or file:/path) the workers resolve, never the password itself.")
    static final class Add extends Cmd {
        @Parameters(index = "0", paramLabel = "ID", description = "source id: lower-case letters, digits, . _ -")
        String id;
        @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "the source as YAML or JSON (- for stdin); flags override its fields")
        Path file;
        @Option(names = "--name", description = "display name (default: the id)")
        String name;
        @Option(names = "--host")
        String host;
        @Option(names = "--port")
        Integer port;
        @Option(names = "--database")
        String database;
        @Option(names = "--username")
        String username;
        @Option(names = "--password-ref", paramLabel = "REF", description = "env:LIFEBOAT_SECRET_<NAME> or file:/path")
        String passwordRef;
        @Option(names = "--method", description = "logical (pg_dump, default) or physical (base backups and WAL)")
        String method;
        @Option(names = "--sslmode", description = "disable, allow, prefer, require (default), verify-ca, verify-full")
        String sslmode;
        @Option(names = "--ssl-root-cert-ref", paramLabel = "REF", description = "file:/path of the CA certificate")
        String sslRootCertRef;

        @Override
        public Integer call() {
            checkId("source id", id, NAME);
            ObjectNode body = file == null ? Api.JSON.createObjectNode() : (ObjectNode) readDocument(file);
            body.remove("id");
            put(body, "name", name != null ? name : body.hasNonNull("name") ? null : id);
            put(body, "host", host);
            if (port != null) {
                body.put("port", port);
            }
            put(body, "database", database);
            put(body, "username", username);
            put(body, "passwordRef", passwordRef);
            put(body, "method", method);
            put(body, "sslmode", sslmode);
            put(body, "sslRootCertRef", sslRootCertRef);
            if (body.has("password")) {
                throw usage("a source holds a passwordRef, never a password");
            }
            JsonNode saved = api().put(Service.SCHEDULER, "/api/v1/sources/" + id, body);
            if (!out().structured(saved)) {
                out().out.println("source " + id + " saved (" + text(saved, "/host") + ":" + text(saved, "/port") + "/"
                        + text(saved, "/database") + ", " + text(saved, "/method") + ")");
            }
            return ExitCodes.OK;
        }

        private static void put(ObjectNode n, String field, String value) {
            if (value != null) {
                n.put(field, value);
            }
        }
    }

    @Command(name = "ls", description = "Lists the sources")
    static final class Ls extends Cmd {
        @Override
        public Integer call() {
            JsonNode sources = api().get(Service.SCHEDULER, "/api/v1/sources");
            if (out().structured(sources)) {
                return ExitCodes.OK;
            }
            Output.Table t = new Output.Table("ID", "METHOD", "SERVER", "DATABASE", "USER", "SSLMODE", "NAME");
            for (JsonNode s : sources) {
                t.row(text(s, "/id"), text(s, "/method"), text(s, "/host") + ":" + text(s, "/port"),
                        text(s, "/database"), text(s, "/username"), text(s, "/sslmode"), text(s, "/name"));
            }
            t.print(out().out);
            return ExitCodes.OK;
        }
    }

    @Command(name = "show", description = "One source with its policies and its RPO compliance")
    static final class Show extends OneSource {
        @Override
        public Integer call() {
            Known k = known();
            JsonNode s = k.source();
            JsonNode policies = k.policies();
            JsonNode rpo = optional(Service.CATALOG, "/api/v1/sources/" + id + "/rpo");
            ObjectNode all = Api.JSON.createObjectNode();
            all.set("source", s);
            all.set("policies", policies);
            all.set("rpo", rpo);
            if (out().structured(all)) {
                return ExitCodes.OK;
            }
            List<String[]> f = new ArrayList<>();
            f.add(new String[]{"id", text(s, "/id")});
            f.add(new String[]{"name", text(s, "/name")});
            f.add(new String[]{"method", text(s, "/method")});
            f.add(new String[]{"server", text(s, "/host") + ":" + text(s, "/port")});
            f.add(new String[]{"database", text(s, "/database")});
            f.add(new String[]{"user", text(s, "/username")});
            f.add(new String[]{"password", text(s, "/passwordRef")});
            f.add(new String[]{"sslmode", text(s, "/sslmode")});
            StringBuilder p = new StringBuilder();
            for (JsonNode pol : policies) {
                p.append(p.isEmpty() ? "" : ", ").append(text(pol, "/id")).append(" (").append(text(pol, "/type"))
                        .append(" '").append(text(pol, "/schedule")).append("'")
                        .append(pol.hasNonNull("rpo") ? ", RPO " + text(pol, "/rpo") : "").append(")");
            }
            f.add(new String[]{"policies", p.isEmpty() ? "none" : p.toString()});
            if (!rpo.isNull()) {
                f.add(new String[]{"RPO", StatusCommand.rpoCell(out(), rpo.path("compliant").isBoolean()
                        ? rpo.get("compliant").asBoolean() : null) + (rpo.hasNonNull("reason")
                        ? " (" + text(rpo, "/reason") + ")" : "")});
                f.add(new String[]{"last good backup", rpo.hasNonNull("latestBackup")
                        ? text(rpo, "/latestBackup/backupId") + ", " + Output.age(Output.longOrNull(rpo,
                        "/latestBackup/ageSeconds")) + " ago" : "none"});
            }
            out().fields(f);
            return ExitCodes.OK;
        }

        JsonNode optional(Service svc, String path) {
            Api.Response r = api().send(svc, "GET", api().uri(svc, path, null), null);
            return r.status() == 200 ? r.json() : Api.JSON.nullNode();
        }
    }

    @Command(name = "rm", description = "Deletes a source (admin)")
    static final class Rm extends Cmd {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() {
            checkId("source id", id, NAME);
            api().delete(Service.SCHEDULER, "/api/v1/sources/" + id);
            if (!out().structured(Api.JSON.createObjectNode().put("deleted", id))) {
                out().out.println("source " + id + " deleted");
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "check", description = "Whether the source can be backed up now and what protects it. "
            + "snapshot-worker connects with the source's credentials and reports the server version, the "
            + "pg_dump/pg_restore (or pg_basebackup) it would run, the database size and each missing privilege or "
            + "setting with the GRANT or setting that fixes it (operator); then the policies, newest restorable "
            + "backup, RPO and WAL archive. Exit 0 when ready, 1 when something is missing, 5 when the source is "
            + "unreachable.")
    static final class Check extends OneSource {
        /** snapshot-worker's default check deadline (LIFEBOAT_CHECK_DEADLINE, 60 s) plus its connect timeout. */
        static final java.time.Duration CHECK_ANSWER = java.time.Duration.ofSeconds(75);

        @Option(names = "--connection-only", description = "only the connection and privileges (a source with no "
                + "backup yet)")
        boolean connectionOnly;

        @Override
        public Integer call() {
            Known k = known();
            JsonNode s = k.source();
            JsonNode policies = k.policies();
            // the worker ends a check at its deadline (60 s by default) and reports why: wait for that report
            JsonNode readiness = api().postSlow(Service.SNAPSHOT, "/api/v1/sources/" + id + "/check", null,
                    CHECK_ANSWER);
            List<String> missing = new ArrayList<>();
            for (JsonNode m : readiness.path("missing")) {
                missing.add(text(m, "/what") + ": " + text(m, "/fix"));
            }
            ObjectNode report = Api.JSON.createObjectNode();
            report.set("source", s);
            report.set("readiness", readiness);
            Api.Response latest = null;
            JsonNode rpo = Api.JSON.nullNode();
            if (!connectionOnly) {
                rpo = api().get(Service.CATALOG, "/api/v1/sources/" + id + "/rpo");
                latest = api().send(Service.CATALOG, "GET", api().uri(Service.CATALOG,
                        "/api/v1/sources/" + id + "/latest-restorable", null), null);
                if (policies.isEmpty()) {
                    missing.add("no policy: nothing is backed up on a schedule (lifeboat policy add)");
                }
                if (latest.status() != 200) {
                    missing.add("no restorable backup (lifeboat backup create " + id + ")");
                }
                if (rpo.path("compliant").isBoolean() && !rpo.get("compliant").asBoolean()) {
                    missing.add("outside its RPO: " + text(rpo, "/reason"));
                }
                if (rpo.path("walArchive").path("gap").asBoolean(false)) {
                    missing.add("a gap in the WAL archive from " + text(rpo, "/walArchive/firstMissingSegment"));
                }
                report.set("rpo", rpo);
                report.set("latestRestorable", latest.status() == 200 ? latest.json() : Api.JSON.nullNode());
            }
            String sslmode = text(s, "/sslmode");
            if (!"require".equals(sslmode) && !String.valueOf(sslmode).startsWith("verify")) {
                missing.add("sslmode " + sslmode + ": the password may travel in the clear");
            }
            boolean unreachable = "UNREACHABLE".equals(text(readiness, "/status"));
            report.set("missing", Api.JSON.valueToTree(missing));
            if (!out().structured(report)) {
                List<String[]> f = new ArrayList<>();
                f.add(new String[]{"source", id + " (" + text(s, "/method") + ", " + text(s, "/host") + ":"
                        + text(s, "/port") + "/" + text(s, "/database") + " as " + text(s, "/username")
                        + ", sslmode " + sslmode + ")"});
                f.add(new String[]{"connection", unreachable
                        ? out().paint(Output.Colour.RED, "unreachable (" + text(readiness, "/unreachable/reason")
                        + ")") + ": " + text(readiness, "/unreachable/message")
                        : out().paint(Output.Colour.GREEN, "ok") + " (" + Output.millis(Output.longOrNull(readiness,
                        "/tookMillis")) + ")"});
                if (readiness.hasNonNull("server")) {
                    f.add(new String[]{"server", "PostgreSQL " + text(readiness, "/server/version") + ", database "
                            + Output.bytes(Output.longOrNull(readiness, "/server/databaseBytes"))});
                }
                for (JsonNode t : readiness.path("tools")) {
                    f.add(new String[]{text(t, "/name"), t.hasNonNull("path") ? text(t, "/path") + " ("
                            + text(t, "/version") + (t.path("sameMajor").asBoolean() ? "" : ", a newer major "
                            + "version") + ")" : out().paint(Output.Colour.RED, "none installed on the worker")});
                }
                for (JsonNode ok : readiness.path("satisfied")) {
                    f.add(new String[]{"has", ok.asText()});
                }
                if (!connectionOnly) {
                    f.add(new String[]{"policies", String.valueOf(policies.size())});
                    f.add(new String[]{"latest restorable", latest.status() == 200
                            ? text(latest.json(), "/backupId") + " (" + Output.time(latest.json(), "/completedAt")
                            + ")" : "none"});
                    f.add(new String[]{"RPO", StatusCommand.rpoCell(out(), rpo.path("compliant").isBoolean()
                            ? rpo.get("compliant").asBoolean() : null)});
                }
                out().fields(f);
                for (String m : missing) {
                    out().out.println(out().paint(Output.Colour.RED, "missing: ") + m);
                }
                if (missing.isEmpty() && !unreachable) {
                    out().out.println(out().paint(Output.Colour.GREEN, "ok"));
                }
                out().out.flush();
            }
            return unreachable ? ExitCodes.UNREACHABLE : missing.isEmpty() ? ExitCodes.OK : ExitCodes.FAILED;
        }
    }
}
