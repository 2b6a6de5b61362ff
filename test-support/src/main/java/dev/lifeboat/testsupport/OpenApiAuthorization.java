package dev.lifeboat.testsupport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.identity.SigningKeys;
import dev.lifeboat.identity.TokenMinter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Walks every operation of a running service's OpenAPI document ({@code /q/openapi}) under {@code /api/} and calls
 * it with no token, with tokens that must not be accepted (expired; signed by a key the service does not trust;
 * issued to another audience),
 * with a viewer token and with a token holding lifeboat-admin alone. What it expects: 401 for the first four, 403 for
 * a viewer on every operation that is not a GET, and neither 401 nor 403 for the admin. Path parameters get a well-formed id
 * that names nothing; bodies are {@code {}}. An endpoint added without a role annotation is denied by the services'
 * configuration, which this walk reports as a 401/403 for the admin: it fails by construction.
 */
public final class OpenApiAuthorization {
    /** One operation of the document. */
    public record Operation(String method, String path) {
        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    /** What the walk found: the operations covered and every expectation that did not hold. */
    public record Report(List<Operation> operations, List<String> violations) {
    }

    private static final Set<String> METHODS = Set.of("get", "post", "put", "delete", "patch");
    private static final String PROBE_ID = "authz-probe-0";

    private OpenApiAuthorization() {
    }

    public static List<Operation> operations(String baseUrl) {
        Http.Response doc = Http.get(baseUrl + "/q/openapi?format=json", Map.of("Accept", "application/json"));
        if (doc.status() != 200) {
            throw new IllegalStateException("GET /q/openapi answered " + doc.status());
        }
        try {
            JsonNode paths = new ObjectMapper().readTree(doc.body()).path("paths");
            List<Operation> ops = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = paths.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> path = it.next();
                if (!path.getKey().startsWith("/api/")) {
                    continue;
                }
                path.getValue().fieldNames().forEachRemaining(m -> {
                    if (METHODS.contains(m)) {
                        ops.add(new Operation(m.toUpperCase(), path.getKey()));
                    }
                });
            }
            return ops;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Walks {@code baseUrl} (a service under test) and fails, listing every violation, unless every operation is
     * protected as described above and the document holds at least {@code atLeast} operations. Prints the count.
     */
    public static Report assertProtected(String service, java.net.URL baseUrl, int atLeast) {
        Report report = walk(baseUrl.toString().replaceAll("/$", ""));
        System.out.println("[authorization] " + service + ": " + report.operations().size() + " operations: "
                + report.operations());
        if (report.operations().size() < atLeast) {
            throw new AssertionError(service + " documents " + report.operations().size() + " operations under /api/, "
                    + "expected at least " + atLeast + ": " + report.operations());
        }
        if (!report.violations().isEmpty()) {
            throw new AssertionError(report.violations().size() + " authorization violations in " + service + ":\n  "
                    + String.join("\n  ", report.violations()));
        }
        return report;
    }

    public static Report walk(String baseUrl) {
        List<Operation> ops = operations(baseUrl);
        String expired = new TokenMinter(Tokens.keys()).mint("test-admin", Roles.ALL, Duration.ofMinutes(-10));
        String foreign = new TokenMinter(foreignKeys()).mint("test-admin", Roles.ALL, Duration.ofHours(1));
        String otherAudience = new TokenMinter(Tokens.keys(), TokenMinter.LOCAL_ISSUER, "groups", "another-app")
                .mint("test-admin", Roles.ALL, Duration.ofHours(1));
        String viewer = Tokens.viewer();
        // lifeboat-admin alone, as an identity provider may issue it: an operation must name every role that may
        // call it, not rely on an admin's token also holding the weaker roles
        String admin = Tokens.mint("test-admin-only", Roles.ADMIN);
        List<String> violations = new ArrayList<>();
        for (Operation op : ops) {
            String url = baseUrl + op.path().replaceAll("\\{[^}]+}", PROBE_ID);
            expect(violations, op, "no token", call(op, url, null), 401);
            expect(violations, op, "expired token", call(op, url, expired), 401);
            expect(violations, op, "token signed by an untrusted key", call(op, url, foreign), 401);
            expect(violations, op, "token for another audience", call(op, url, otherAudience), 401);
            Http.Response asViewer = call(op, url, viewer);
            if (op.method().equals("GET")) {
                allowed(violations, op, "viewer", asViewer);
            } else {
                expect(violations, op, "viewer token", asViewer, 403);
            }
            allowed(violations, op, "admin", call(op, url, admin));
        }
        return new Report(ops, violations);
    }

    private static void expect(List<String> violations, Operation op, String as, Http.Response r, int status) {
        if (r.status() != status) {
            violations.add(op + " with " + as + ": expected " + status + ", got " + r.status() + " " + r.body());
        } else if (!String.valueOf(r.header("Content-Type")).startsWith("application/problem+json")) {
            violations.add(op + " with " + as + ": " + status + " is not application/problem+json");
        }
    }

    private static void allowed(List<String> violations, Operation op, String as, Http.Response r) {
        if (r.status() == 401 || r.status() == 403) {
            violations.add(op + " as " + as + ": refused with " + r.status() + " " + r.body());
        }
    }

    private static Http.Response call(Operation op, String url, String token) {
        // JSON preferred, anything else accepted: an operation that only streams (text/event-stream) is probed too
        String accept = "application/json, */*;q=0.1";
        Map<String, String> headers = token == null ? Map.of("Accept", accept)
                : Map.of("Accept", accept, "Authorization", Tokens.bearer(token));
        return switch (op.method()) {
            case "GET" -> Http.get(url, headers);
            case "DELETE" -> Http.send("DELETE", url, null, headers);
            case "POST" -> Http.post(url, "{}", headers);
            case "PUT" -> Http.put(url, "{}", headers);
            default -> throw new IllegalArgumentException("unsupported method " + op.method());
        };
    }

    private static SigningKeys foreignKeys() {
        try {
            return SigningKeys.loadOrCreate(Files.createTempDirectory("lifeboat-foreign-jwt"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
