package dev.lifeboat.recovery.service;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.recovery.RecoveryTarget;
import dev.lifeboat.contracts.recovery.SqlCheck;
import dev.lifeboat.contracts.recovery.SqlCheckRules;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.recovery.domain.CronSchedule;
import dev.lifeboat.recovery.domain.PlanSpec;
import dev.lifeboat.recovery.domain.PlanStep;
import dev.lifeboat.recovery.domain.SagaTable;

import java.net.URI;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a plan request field by field so that every problem is named with its path (steps[2].endpoints[0].url),
 * all of them at once. Checks against registered sources, target servers and the URL allowlist come after,
 * in PlanService.
 */
public final class PlanValidator {
    private static final Pattern SLUG = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    private static final Pattern DB_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_$-]{0,62}");
    private static final Pattern CLUSTER_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    private static final Set<String> METHODS = Set.of("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD");

    private final List<String> errors = new ArrayList<>();

    private PlanValidator() {
    }

    /** The plan, or a 400 problem listing every invalid field. */
    public static PlanSpec read(JsonNode body, String pathId) {
        PlanValidator v = new PlanValidator();
        PlanSpec plan = v.plan(body == null ? com.fasterxml.jackson.databind.node.NullNode.instance : body, pathId);
        if (!v.errors.isEmpty()) {
            throw new ProblemException(400, "Invalid plan", String.join("; ", v.errors));
        }
        return plan;
    }

    private PlanSpec plan(JsonNode b, String pathId) {
        if (!b.isObject()) {
            errors.add("request body must be a JSON object");
            return null;
        }
        String id = pathId != null ? pathId : text(b, "id", "id", true);
        if (pathId != null && b.hasNonNull("id") && !pathId.equals(b.get("id").asText())) {
            errors.add("id: '" + b.get("id").asText() + "' differs from the path's '" + pathId + "'");
        }
        if (id != null && !SLUG.matcher(id).matches()) {
            errors.add("id: '" + id + "' is not a slug (lowercase letters, digits and '-', at most 63)");
        }
        String name = text(b, "name", "name", true);
        String rto = duration(b, "rto", "rto", true);
        String rpo = duration(b, "rpo", "rpo", true);
        String cron = text(b, "drillSchedule", "drillSchedule", false);
        if (cron != null) {
            CronSchedule.problem(cron).ifPresent(p -> errors.add("drillSchedule: " + p));
        }
        String stepTimeout = duration(b, "stepTimeout", "stepTimeout", false);
        List<PlanStep> steps = new ArrayList<>();
        JsonNode s = b.get("steps");
        if (s == null || s.isNull() || (s.isArray() && s.isEmpty())) {
            errors.add("steps: a plan needs at least one step");
        } else if (!s.isArray()) {
            errors.add("steps: must be an array");
        } else {
            for (int i = 0; i < s.size(); i++) {
                PlanStep step = step(s.get(i), "steps[" + i + "]", steps);
                steps.add(step);
            }
        }
        return new PlanSpec(id, name, rto, rpo, cron == null ? null : cron.trim(), stepTimeout, steps, null, null, null, null);
    }

    private PlanStep step(JsonNode n, String at, List<PlanStep> before) {
        if (!n.isObject()) {
            errors.add(at + ": must be an object");
            return null;
        }
        String kind = n.path("kind").asText(null);
        if (kind == null) {
            errors.add(at + ".kind: missing; expected one of " + PlanStep.KINDS);
            return null;
        }
        String timeout = duration(n, "timeout", at + ".timeout", false);
        switch (kind) {
            case PlanStep.RESTORE -> {
                String sourceId = text(n, "sourceId", at + ".sourceId", true);
                String backup = n.hasNonNull("backup") ? n.get("backup").asText() : "latest";
                if (backup.isBlank()) {
                    errors.add(at + ".backup: 'latest' or a backup id");
                }
                String target = null;
                JsonNode t = n.get("target");
                if (t != null && t.isObject()) {
                    errors.add(at + ".target: names a registered target server (GET /api/v1/targets); host, port "
                            + "and user are no longer written in plans");
                } else {
                    target = text(n, "target", at + ".target", true);
                    if (target != null && !TargetService.NAME.matcher(target).matches()) {
                        errors.add(at + ".target: '" + TargetService.abbreviate(target)
                                + "' is not a target server name");
                        target = null;
                    }
                }
                String database = text(n, "database", at + ".database", true);
                if (database != null && !DB_NAME.matcher(database).matches()) {
                    errors.add(at + ".database: '" + TargetService.abbreviate(database)
                            + "' is not a plain PostgreSQL name");
                }
                int jobs = n.path("jobs").asInt(2);
                if (jobs < 1 || jobs > 64) {
                    errors.add(at + ".jobs: must be 1..64");
                }
                return new PlanStep.RestoreDatabase(sourceId, backup, target, database, jobs,
                        n.path("allowLiveSource").asBoolean(false), timeout);
            }
            case PlanStep.RESTORE_CLUSTER -> {
                String sourceId = text(n, "sourceId", at + ".sourceId", true);
                String backup = n.hasNonNull("backup") ? n.get("backup").asText() : "latest";
                if (backup.isBlank()) {
                    errors.add(at + ".backup: 'latest' or a backup id");
                }
                String target = text(n, "target", at + ".target", true);
                if (target != null && !TargetService.NAME.matcher(target).matches()) {
                    errors.add(at + ".target: '" + TargetService.abbreviate(target) + "' is not a target name");
                    target = null;
                }
                String cluster = text(n, "cluster", at + ".cluster", true);
                if (cluster != null && !CLUSTER_NAME.matcher(cluster).matches()) {
                    errors.add(at + ".cluster: '" + TargetService.abbreviate(cluster) + "' is not a plain name "
                            + "(lowercase letters, digits, '_' and '-', at most 63)");
                }
                JsonNode p = n.get("port");
                int port = 0;
                if (p == null || !p.isIntegralNumber() || p.asInt() < 1024 || p.asInt() > 65535) {
                    errors.add(at + ".port: required, a number 1024..65535 within the target's ports");
                } else {
                    port = p.asInt();
                }
                RecoveryTarget recoveryTarget = recoveryTarget(n.get("recoveryTarget"), at + ".recoveryTarget");
                String drillAgo = duration(n, "drillAgo", at + ".drillAgo", false);
                return new PlanStep.RestoreCluster(sourceId, backup, target, cluster, port, recoveryTarget, drillAgo,
                        timeout);
            }
            case PlanStep.RESTART -> {
                List<PlanStep.Endpoint> endpoints = new ArrayList<>();
                JsonNode e = n.get("endpoints");
                if (e == null || !e.isArray() || e.isEmpty()) {
                    errors.add(at + ".endpoints: at least one {method, url, expectedStatus}");
                } else {
                    for (int j = 0; j < e.size(); j++) {
                        JsonNode ep = e.get(j);
                        String p = at + ".endpoints[" + j + "]";
                        String method = ep.path("method").asText("POST").toUpperCase(Locale.ROOT);
                        if (!METHODS.contains(method)) {
                            errors.add(p + ".method: one of " + METHODS);
                        }
                        String url = url(ep, "url", p + ".url");
                        int expected = ep.path("expectedStatus").asInt(200);
                        endpoints.add(new PlanStep.Endpoint(method, url, expected));
                    }
                }
                int retries = n.path("retries").asInt(0);
                if (retries < 0 || retries > 100) {
                    errors.add(at + ".retries: must be 0..100");
                }
                return new PlanStep.RestartServices(endpoints, timeout == null ? "PT10S" : timeout, retries);
            }
            case PlanStep.VERIFY -> {
                if (SagaTable.restoreBefore(before, before.size()) < 0) {
                    errors.add(at + ": VerifyIntegrity checks the target of a preceding RestoreDatabase step, "
                            + "and there is none before it");
                }
                boolean checksums = n.path("checksums").asBoolean(false);
                List<SqlCheck> checks = new ArrayList<>();
                JsonNode c = n.get("checks");
                if (c != null && c.isArray()) {
                    for (int j = 0; j < c.size(); j++) {
                        checks.add(check(c.get(j), at + ".checks[" + j + "]"));
                    }
                }
                if (!checksums && checks.isEmpty()) {
                    errors.add(at + ": VerifyIntegrity needs checksums=true or at least one check");
                }
                return new PlanStep.VerifyIntegrity(checksums, checks, timeout);
            }
            case PlanStep.NOTIFY -> {
                List<String> hooks = new ArrayList<>();
                JsonNode w = n.get("webhooks");
                if (w == null || !w.isArray() || w.isEmpty()) {
                    errors.add(at + ".webhooks: at least one URL");
                } else {
                    for (int j = 0; j < w.size(); j++) {
                        String u = w.get(j).asText();
                        if (!validUrl(u)) {
                            errors.add(at + ".webhooks[" + j + "]: '" + u + "' is not an http(s) URL");
                        }
                        hooks.add(u);
                    }
                }
                return new PlanStep.NotifyStakeholders(hooks, timeout);
            }
            default -> {
                errors.add(at + ".kind: unknown step kind '" + kind + "'; expected one of " + PlanStep.KINDS);
                return null;
            }
        }
    }

    /** {kind: LATEST|TIME|LSN|XID|NAME, value}; absent means latest. */
    private RecoveryTarget recoveryTarget(JsonNode n, String at) {
        if (n == null || n.isNull()) {
            return RecoveryTarget.latest();
        }
        if (!n.isObject()) {
            errors.add(at + ": an object {kind, value}");
            return null;
        }
        String kindText = n.path("kind").asText("");
        RecoveryTarget.Kind kind;
        try {
            kind = RecoveryTarget.Kind.valueOf(kindText.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            errors.add(at + ".kind: '" + TargetService.abbreviate(kindText) + "' is not one of "
                    + List.of(RecoveryTarget.Kind.values()));
            return null;
        }
        JsonNode v = n.get("value");
        if (v != null && !v.isNull() && !v.isTextual()) {
            errors.add(at + ".value: must be a string");
            return null;
        }
        RecoveryTarget t = new RecoveryTarget(kind, v == null || v.isNull() ? null : v.asText());
        t.problem().ifPresent(p -> errors.add(at + ": " + p));
        return t;
    }

    private SqlCheck check(JsonNode c, String at) {
        String name = text(c, "name", at + ".name", true);
        String kindText = c.path("kind").asText(null);
        SqlCheck.Kind kind = null;
        try {
            kind = SqlCheck.Kind.valueOf(kindText);
        } catch (RuntimeException e) {
            errors.add(at + ".kind: '" + kindText + "' is not one of " + List.of(SqlCheck.Kind.values()));
        }
        String table = c.path("table").asText(null);
        Long minRows = c.hasNonNull("minRows") ? c.get("minRows").asLong() : null;
        String sql = c.path("sql").asText(null);
        String expected = c.path("expected").asText(null);
        if (kind == SqlCheck.Kind.ROW_COUNT_AT_LEAST && (table == null || minRows == null)) {
            errors.add(at + ": ROW_COUNT_AT_LEAST needs table and minRows");
        }
        if (kind == SqlCheck.Kind.QUERY_EQUALS && (sql == null || expected == null)) {
            errors.add(at + ": QUERY_EQUALS needs sql and expected");
        }
        if (kind == SqlCheck.Kind.QUERY_EQUALS && sql != null) {
            SqlCheckRules.queryProblem(sql).ifPresent(p -> errors.add(at + ".sql: " + p));
        }
        if (kind == SqlCheck.Kind.TABLE_MATCHES_SOURCE) {
            SqlCheckRules.tableProblem(table).ifPresent(p -> errors.add(at + ".table: " + p));
            if (minRows != null || sql != null || expected != null) {
                errors.add(at + ": TABLE_MATCHES_SOURCE takes only name and table (the backup recorded what to "
                        + "expect)");
            }
        }
        return new SqlCheck(name, kind, table, minRows, sql, expected);
    }

    private String text(JsonNode n, String field, String at, boolean required) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull() || v.asText().isBlank()) {
            if (required) {
                errors.add(at + ": required");
            }
            return null;
        }
        if (!v.isTextual()) {
            errors.add(at + ": must be a string");
            return null;
        }
        return v.asText();
    }

    private String duration(JsonNode n, String field, String at, boolean required) {
        String text = text(n, field, at, required);
        if (text == null) {
            return null;
        }
        try {
            Duration d = Duration.parse(text);
            if (d.isNegative() || d.isZero()) {
                errors.add(at + ": '" + text + "' must be positive");
            }
            return text;
        } catch (DateTimeParseException e) {
            errors.add(at + ": '" + text + "' is not an ISO-8601 duration (e.g. PT15M, PT0.001S)");
            return null;
        }
    }

    private String url(JsonNode n, String field, String at) {
        String u = text(n, field, at, true);
        if (u != null && !validUrl(u)) {
            errors.add(at + ": '" + u + "' is not an http(s) URL");
        }
        return u;
    }

    private static boolean validUrl(String u) {
        try {
            URI uri = URI.create(u);
            return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
