package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.cli.Settings.Service;
import picocli.CommandLine.Command;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.lifeboat.cli.Output.text;

/**
 * {@code lifeboat status}: the fleet at a glance, from catalog-service's {@code GET /api/v1/fleet} (every page); a catalog without
 * it is asked per source ({@code GET /api/v1/sources/{id}/rpo} and the source's newest drill).
 */
@Command(name = "status", description = "The fleet: per source the last good backup, its age against the RPO and the "
        + "last drill's RTO against its target. Exit 1 when a source is outside its RPO.")
final class StatusCommand extends Cmd {

    @Override
    public Integer call() {
        JsonNode fleet = wholeFleet();
        int breaches = 0;
        for (JsonNode s : fleet.path("sources")) {
            if (s.path("rpoCompliant").isBoolean() && !s.get("rpoCompliant").asBoolean()) {
                breaches++;
            }
        }
        if (!out().structured(fleet)) {
            Output.Table t = new Output.Table("SOURCE", "METHOD", "LAST GOOD BACKUP", "COMPLETED", "AGE", "RPO", "STATE",
                    "LAST DRILL", "NEXT BACKUP");
            for (JsonNode s : fleet.path("sources")) {
                Boolean compliant = s.path("rpoCompliant").isBoolean() ? s.get("rpoCompliant").asBoolean() : null;
                String age = Output.age(Output.longOrNull(s, "/lastGoodBackup/ageSeconds"));
                if (s.path("archiveLagSeconds").isNumber()) {
                    age = (age == null ? "" : age + ", ") + "WAL lag " + Output.age(s.get("archiveLagSeconds").asLong());
                }
                t.row(text(s, "/sourceId"), text(s, "/method"), text(s, "/lastGoodBackup/backupId"),
                        Output.time(s, "/lastGoodBackup/completedAt"),
                        compliant == null ? age : out().paint(compliant ? Output.Colour.GREEN : Output.Colour.RED, age),
                        Output.age(Output.longOrNull(s, "/rpoSeconds")),
                        rpoCell(out(), compliant) + (Boolean.FALSE.equals(compliant) && s.hasNonNull("reason")
                                ? ": " + text(s, "/reason") : ""),
                        drill(out(), s.path("lastDrill")), Output.time(s, "/nextScheduledAt"));
            }
            t.print(out().out);
            int n = fleet.path("sources").size();
            out().out.println(n + " source" + (n == 1 ? "" : "s") + ", " + (breaches == 0
                    ? out().paint(Output.Colour.GREEN, "all within their RPO")
                    : out().paint(Output.Colour.RED, breaches + " outside the RPO")) + " (checked "
                    + Output.time(fleet, "/checkedAt") + ")");
            out().out.flush();
        }
        if (fleet.path("policiesKnown").isBoolean() && !fleet.get("policiesKnown").asBoolean()) {
            out().err.println("warning: scheduler-service did not answer for part of the fleet: those sources' RPO "
                    + "is unknown, and sources that only have a policy so far are missing");
            out().err.flush();
            if (breaches == 0) {
                return ExitCodes.UNREACHABLE;
            }
        }
        return breaches == 0 ? ExitCodes.OK : ExitCodes.FAILED;
    }

    /** Sources per page of GET /api/v1/fleet (its largest). */
    static final int FLEET_PAGE = 200;
    /** More pages than any fleet has: a server that keeps sending cursors is not followed forever. */
    static final int MAX_FLEET_PAGES = 10_000;

    /**
     * Every page of GET /api/v1/fleet, as one document of that shape (the first page's checkedAt; policiesKnown false
     * when any page lacked scheduler-service's answer); a catalog without it is asked per source. Pages must go
     * forward: a page with a cursor but no source, or a source id not after the page before's, ends the command.
     */
    private JsonNode wholeFleet() {
        ObjectNode fleet = null;
        String cursor = null;
        String last = null;
        int pages = 0;
        do {
            if (++pages > MAX_FLEET_PAGES) {
                throw new CliException(ExitCodes.FAILED, "catalog sent more than " + MAX_FLEET_PAGES
                        + " pages of the fleet; stopped");
            }
            Map<String, String> query = new LinkedHashMap<>();
            query.put("size", String.valueOf(FLEET_PAGE));
            query.put("cursor", cursor);
            Api.Response r = api().send(Service.CATALOG, "GET", api().uri(Service.CATALOG, "/api/v1/fleet", query),
                    null);
            if (fleet == null && (r.status() == 404 || r.status() == 405)) {
                return perSource();
            }
            JsonNode page = api().checked(Service.CATALOG, r).json();
            if (fleet == null) {
                fleet = Api.JSON.createObjectNode();
                fleet.set("checkedAt", page.path("checkedAt"));
                fleet.put("policiesKnown", true);
                fleet.putArray("sources");
            }
            if (page.path("policiesKnown").isBoolean() && !page.get("policiesKnown").asBoolean()) {
                fleet.put("policiesKnown", false);
            }
            ArrayNode sources = (ArrayNode) fleet.get("sources");
            for (JsonNode s : page.path("sources")) {
                String id = text(s, "/sourceId");
                if (id == null || (last != null && compareBytewise(id, last) <= 0)) {
                    throw new CliException(ExitCodes.FAILED, "catalog's fleet pages went backwards (source '" + id
                            + "' after '" + last + "'); stopped");
                }
                last = id;
                sources.add(s);
            }
            cursor = page.path("nextCursor").isTextual() ? page.get("nextCursor").asText() : null;
            if (cursor != null && page.path("sources").isEmpty()) {
                throw new CliException(ExitCodes.FAILED, "catalog sent an empty page of the fleet with a next cursor; "
                        + "stopped");
            }
        } while (cursor != null);
        return fleet;
    }

    private static int compareBytewise(String a, String b) {
        return java.util.Arrays.compareUnsigned(a.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                b.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    static String rpoCell(Output o, Boolean compliant) {
        if (compliant == null) {
            return o.paint(Output.Colour.DIM, "no RPO");
        }
        return compliant ? o.paint(Output.Colour.GREEN, "OK") : o.paint(Output.Colour.RED, "BREACH");
    }

    static String drill(Output o, JsonNode d) {
        if (d.isMissingNode() || d.isNull()) {
            return null;
        }
        String rto = Output.age(Output.longOrNull(d, "/rtoSeconds"));
        String target = Output.age(Output.longOrNull(d, "/rtoTargetSeconds"));
        String status = text(d, "/status");
        boolean good = "SUCCEEDED".equals(status) && d.path("rtoMet").asBoolean(false);
        return o.paint(good ? Output.Colour.GREEN : Output.Colour.RED, status + " RTO " + rto + "/" + target);
    }

    /** The fleet document built from one call per source, in the shape of {@code GET /api/v1/fleet}. */
    private JsonNode perSource() {
        ObjectNode fleet = Api.JSON.createObjectNode();
        fleet.put("checkedAt", Instant.now().toString());
        ArrayNode list = fleet.putArray("sources");
        for (JsonNode src : api().get(Service.SCHEDULER, "/api/v1/sources")) {
            String id = text(src, "/id");
            JsonNode rpo = api().get(Service.CATALOG, "/api/v1/sources/" + id + "/rpo");
            ObjectNode s = list.addObject();
            s.put("sourceId", id);
            s.put("method", text(src, "/method"));
            if (rpo.hasNonNull("latestBackup")) {
                ObjectNode b = s.putObject("lastGoodBackup");
                b.put("backupId", text(rpo, "/latestBackup/backupId"));
                b.put("completedAt", text(rpo, "/latestBackup/completedAt"));
                b.put("ageSeconds", rpo.at("/latestBackup/ageSeconds").asLong());
                b.putNull("type");
            } else {
                s.putNull("lastGoodBackup");
            }
            s.set("rpoSeconds", rpo.path("rpoSeconds").isNumber() ? rpo.get("rpoSeconds") : Api.JSON.nullNode());
            s.set("rpoCompliant", rpo.path("compliant").isBoolean() ? rpo.get("compliant") : Api.JSON.nullNode());
            s.put("reason", text(rpo, "/reason"));
            s.putNull("nextScheduledAt");
            s.set("archiveLagSeconds", rpo.at("/walArchive/rpoSeconds").isNumber()
                    ? Api.JSON.valueToTree(Math.round(rpo.at("/walArchive/rpoSeconds").asDouble())) : Api.JSON.nullNode());
            Map<String, String> q = new LinkedHashMap<>();
            q.put("mode", "drill");
            q.put("sourceId", id);
            q.put("size", "1");
            Page drills = page(api().get(Service.CATALOG, "/api/v1/recoveries", q));
            if (drills.items().isEmpty()) {
                s.putNull("lastDrill");
            } else {
                JsonNode d = drills.items().get(0);
                ObjectNode ld = s.putObject("lastDrill");
                ld.put("runId", text(d, "/runId"));
                ld.put("status", text(d, "/status"));
                ld.set("rtoSeconds", d.path("totalMillis").isNumber()
                        ? Api.JSON.valueToTree(d.get("totalMillis").asLong() / 1000) : Api.JSON.nullNode());
                ld.set("rtoTargetSeconds", d.path("rtoMillis").isNumber()
                        ? Api.JSON.valueToTree(d.get("rtoMillis").asLong() / 1000) : Api.JSON.nullNode());
                ld.set("rtoMet", d.path("rtoMet").isBoolean() ? d.get("rtoMet") : Api.JSON.nullNode());
                ld.put("finishedAt", text(d, "/finishedAt"));
            }
            s.putNull("lastVerifiedAt");
        }
        return fleet;
    }
}
