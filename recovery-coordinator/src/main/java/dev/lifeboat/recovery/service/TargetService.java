package dev.lifeboat.recovery.service;

import dev.lifeboat.kit.secrets.SecretPolicy;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.kit.pg.SslMode;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.recovery.domain.TargetServer;
import dev.lifeboat.recovery.repository.Db;
import dev.lifeboat.recovery.repository.TargetRepository;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Registered target servers: the only servers a plan may restore into. */
@ApplicationScoped
public class TargetService {
    /** Target names, as plan ids: a slug. */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"
            + "|\\[[0-9A-Fa-f:.]{2,45}]");
    private static final Pattern USER = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]{0,62}");
    private static final int MAX_PATTERN = 256;
    private static final Pattern DATA_ROOT = Pattern.compile("/[A-Za-z0-9/._-]{1,200}");
    private static final Pattern PORTS = Pattern.compile("([0-9]{1,5})-([0-9]{1,5})");
    /** A pattern that admits one of these would let plans drop or replace the server's own databases. */
    private static final Set<String> SYSTEM_DATABASES = Set.of("postgres", "template0", "template1");

    /** The result of a PUT: the stored target and whether it was new. */
    public record Saved(TargetServer target, boolean created) {
    }

    private final Db db;
    private final TargetRepository targets;
    private final SecretPolicy secrets;

    public TargetService(Db db, TargetRepository targets, SecretPolicy secrets) {
        this.secrets = secrets;
        this.db = db;
        this.targets = targets;
    }

    public List<TargetServer> list() {
        return db.tx(targets::list);
    }

    public TargetServer get(String name) {
        checkName(name);
        return db.tx(c -> targets.find(c, name)).orElseThrow(() -> ProblemException.notFound("target server", name));
    }

    @WithSpan("TargetService.put")
    public Saved put(String name, JsonNode body, String principal) {
        checkName(name);
        TargetServer t = read(name, body, secrets);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        return db.tx(c -> {
            TargetServer stored = targets.find(c, name)
                    .map(old -> t.withTimes(old.createdAt(), now).withAuthors(old.createdBy(), principal))
                    .orElse(t.withTimes(now, now).withAuthors(principal, principal));
            boolean created = targets.upsert(c, stored);
            return new Saved(stored, created);
        });
    }

    /** 409 naming the plans while any plan restores into the target. */
    @WithSpan("TargetService.delete")
    public void delete(String name) {
        checkName(name);
        db.tx(c -> {
            if (targets.lock(c, name).isEmpty()) {
                throw ProblemException.notFound("target server", name);
            }
            List<String> plans = targets.plansUsing(c, name);
            if (!plans.isEmpty()) {
                throw new ProblemException(409, "Target server in use", "target server '" + name
                        + "' is used by plan" + (plans.size() > 1 ? "s " : " ") + String.join(", ", plans)
                        + "; change or delete " + (plans.size() > 1 ? "them" : "it") + " first");
            }
            targets.delete(c, name);
            return null;
        });
    }

    /** A target name from a path, validated as at creation (400 otherwise). */
    public static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new ProblemException(400, "Invalid target server name", "target server name '"
                    + abbreviate(name) + "' is not a slug (lowercase letters, digits and '-', at most 63)");
        }
    }

    private static TargetServer read(String name, JsonNode b, SecretPolicy secrets) {
        List<String> errors = new ArrayList<>();
        if (b == null || !b.isObject()) {
            throw new ProblemException(400, "Invalid target server", "request body must be a JSON object");
        }
        if (b.hasNonNull("name") && !name.equals(b.get("name").asText())) {
            errors.add("name: '" + abbreviate(b.get("name").asText()) + "' differs from the path's '" + name + "'");
        }
        String kind = b.hasNonNull("kind") ? b.get("kind").asText() : TargetServer.DATABASE;
        if (TargetServer.CLUSTER.equals(kind)) {
            return cluster(name, b, errors);
        }
        if (!TargetServer.DATABASE.equals(kind)) {
            errors.add("kind: '" + abbreviate(kind) + "' is not one of database, cluster");
        }
        String host = text(b, "host", errors);
        if (host != null && !HOST.matcher(host).matches()) {
            errors.add("host: '" + abbreviate(host) + "' is not a host name or IP address");
        }
        int port = 0;
        JsonNode p = b.get("port");
        if (p == null || !p.canConvertToInt() || !p.isIntegralNumber()) {
            errors.add("port: required, a number 1..65535");
        } else {
            port = p.asInt();
            if (port < 1 || port > 65535) {
                errors.add("port: " + port + " is not in 1..65535");
            }
        }
        String user = text(b, "user", errors);
        if (user != null && !USER.matcher(user).matches()) {
            errors.add("user: '" + abbreviate(user) + "' is not a plain PostgreSQL role name");
        }
        String ref = text(b, "passwordRef", errors);
        if (ref != null) {
            try {
                // the same rules as a source's: the worker that connects applies them again before use
                secrets.checkReference("passwordRef", ref);
            } catch (IllegalArgumentException e) {
                errors.add("passwordRef: " + e.getMessage() + " (a reference to the secret, never the secret)");
            }
        }
        String pattern = text(b, "databasePattern", errors);
        if (pattern != null) {
            patternProblem(pattern).ifPresent(pr -> errors.add("databasePattern: " + pr));
        }
        String sslmode = null;
        if (b.hasNonNull("sslmode") && (!b.get("sslmode").isTextual() || b.get("sslmode").asText().isBlank())) {
            errors.add("sslmode: must be one of disable, allow, prefer, require, verify-ca, verify-full");
        } else {
            try {
                // require unless said otherwise: the restored data and the password never cross the network in clear
                sslmode = SslMode.parse(b.hasNonNull("sslmode") ? b.get("sslmode").asText() : null).value();
            } catch (IllegalArgumentException e) {
                errors.add("sslmode: " + e.getMessage());
            }
        }
        String ca = b.hasNonNull("sslRootCertRef") ? b.get("sslRootCertRef").asText() : null;
        if (ca != null && !b.get("sslRootCertRef").isTextual()) {
            errors.add("sslRootCertRef: must be the file:/path of a CA certificate");
        } else if (ca != null && sslmode != null && !SslMode.parse(sslmode).verifiesServer()) {
            // libpq would check the certificate with it under require, the JDBC driver would not: one meaning only
            errors.add("sslRootCertRef: only sslmode verify-ca or verify-full checks the server's certificate; "
                    + "with " + sslmode + " leave it out");
        } else if (ca != null) {
            try {
                secrets.checkFileReference("sslRootCertRef", ca);
            } catch (IllegalArgumentException e) {
                errors.add("sslRootCertRef: " + e.getMessage());
            }
        }
        if (sslmode != null && SslMode.parse(sslmode).verifiesServer() && ca == null) {
            errors.add("sslRootCertRef: sslmode " + sslmode + " checks the server's certificate: give the file:/path "
                    + "of the CA certificate inside a secret directory");
        }
        if (!errors.isEmpty()) {
            throw new ProblemException(400, "Invalid target server", String.join("; ", errors));
        }
        return new TargetServer(name, host, port, user, ref, pattern, sslmode, ca);
    }

    /**
     * A place for restored clusters: {@code dataRoot} an absolute, normalized path of plain characters (it travels
     * into the worker's PostgreSQL configuration), {@code ports} an unprivileged range {@code first-last}. Fields of
     * a database server are refused, so that a target is never half one kind and half the other.
     */
    private static TargetServer cluster(String name, JsonNode b, List<String> errors) {
        for (String field : List.of("host", "port", "user", "passwordRef", "databasePattern", "sslmode",
                "sslRootCertRef")) {
            if (b.has(field)) {
                errors.add(field + ": a cluster target has no " + field + " (restored clusters listen on 127.0.0.1 "
                        + "of the worker that restores them)");
            }
        }
        String root = text(b, "dataRoot", errors);
        if (root != null) {
            if (!DATA_ROOT.matcher(root).matches()) {
                errors.add("dataRoot: '" + abbreviate(root) + "' is not an absolute path of letters, digits, '/', "
                        + "'.', '_' and '-'");
            } else if (!java.nio.file.Path.of(root).normalize().toString().equals(root) || root.equals("/")) {
                errors.add("dataRoot: '" + abbreviate(root) + "' is not a normalized directory below / (no '.', "
                        + "'..', '//' or trailing '/')");
            }
        }
        String ports = text(b, "ports", errors);
        if (ports != null) {
            java.util.regex.Matcher m = PORTS.matcher(ports);
            if (!m.matches()) {
                errors.add("ports: '" + abbreviate(ports) + "' is not a range first-last (e.g. 5433-5499)");
            } else {
                int first = Integer.parseInt(m.group(1));
                int last = Integer.parseInt(m.group(2));
                if (first < 1024 || last > 65535 || first > last) {
                    errors.add("ports: " + ports + " must lie within 1024-65535, first <= last");
                }
            }
        }
        if (!errors.isEmpty()) {
            throw new ProblemException(400, "Invalid target server", String.join("; ", errors));
        }
        return TargetServer.cluster(name, root, ports);
    }

    private static java.util.Optional<String> patternProblem(String pattern) {
        if (pattern.length() > MAX_PATTERN) {
            return java.util.Optional.of("longer than " + MAX_PATTERN + " characters");
        }
        if (!pattern.startsWith("^")) {
            // matched against the whole name anyway; the '^' makes the author's intent (a prefix) explicit
            return java.util.Optional.of("'" + abbreviate(pattern) + "' must be anchored with '^' (it is matched "
                    + "against the whole database name, e.g. ^(drill_|restored_).*)");
        }
        Pattern compiled;
        try {
            compiled = Pattern.compile(pattern);
        } catch (PatternSyntaxException e) {
            return java.util.Optional.of("'" + abbreviate(pattern) + "' is not a valid regular expression: "
                    + e.getDescription());
        }
        for (String system : SYSTEM_DATABASES) {
            if (compiled.matcher(system).matches()) {
                return java.util.Optional.of("'" + abbreviate(pattern) + "' matches the system database '" + system
                        + "'; restores may never replace or drop it");
            }
        }
        if (compiled.matcher("").matches()) {
            return java.util.Optional.of("'" + abbreviate(pattern) + "' matches the empty name");
        }
        return java.util.Optional.empty();
    }

    private static String text(JsonNode b, String field, List<String> errors) {
        JsonNode v = b.get(field);
        if (v == null || v.isNull() || (v.isTextual() && v.asText().isBlank())) {
            errors.add(field + ": required");
            return null;
        }
        if (!v.isTextual()) {
            errors.add(field + ": must be a string");
            return null;
        }
        return v.asText();
    }

    static String abbreviate(String s) {
        return s == null ? "null" : s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
