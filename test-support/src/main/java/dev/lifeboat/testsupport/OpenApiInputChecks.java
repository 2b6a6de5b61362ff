package dev.lifeboat.testsupport;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Walks every operation of a running service's OpenAPI document under {@code /api/} (as {@link OpenApiAuthorization}
 * finds them) with an admin token and hostile input, where the role would let it through:
 * <ul>
 * <li>every path parameter replaced by ids that no id rule admits (upper case and a blank, a newline, 200
 * characters): 400 as a problem. For an operation that takes a body, the 400 must also differ from the answer to
 * a well-formed id, so that it is the id that was refused and not the empty body;</li>
 * <li>every operation that takes a body sent one larger than the default limit
 * ({@code quarkus.http.limits.max-body-size}, 256K): 413.</li>
 * </ul>
 * An operation added with a free-form path id or without the body limit fails this walk without a test of its own.
 */
public final class OpenApiInputChecks {
    /** Ids that break every id rule of the platform (names, slugs, UUIDs), each in another way. */
    static final List<String> HOSTILE_IDS = List.of("Bad..Id%20", "line%0Abreak", "a".repeat(200));
    static final int OVERSIZED_BODY_BYTES = 300 * 1024;
    private static final String PROBE_ID = "authz-probe-0";

    private OpenApiInputChecks() {
    }

    /** Walks {@code baseUrl} and fails, listing every operation whose input is not checked as described above. */
    public static List<String> assertInputChecked(String service, java.net.URL baseUrl) {
        String base = baseUrl.toString().replaceAll("/$", "");
        List<OpenApiAuthorization.Operation> ops = OpenApiAuthorization.operations(base);
        String admin = Tokens.admin();
        Map<String, String> headers = Map.of("Accept", "application/json, */*;q=0.1",
                "Authorization", Tokens.bearer(admin));
        String oversized = "{\"padding\": \"" + "x".repeat(OVERSIZED_BODY_BYTES) + "\"}";
        List<String> checked = new ArrayList<>();
        List<String> violations = new ArrayList<>();
        for (OpenApiAuthorization.Operation op : ops) {
            boolean hasBody = !op.method().equals("GET") && !op.method().equals("DELETE");
            if (op.path().contains("{")) {
                Http.Response wellFormed = hasBody ? call(op, base + withIds(op, PROBE_ID), "{}", headers) : null;
                for (String id : HOSTILE_IDS) {
                    String url = base + withIds(op, id);
                    Http.Response r = call(op, url, hasBody ? "{}" : null, headers);
                    String as = "path id '" + (id.length() > 20 ? id.substring(0, 20) + "..." : id) + "'";
                    if (r.status() != 400) {
                        violations.add(op + " with " + as + ": expected 400, got " + r.status() + " " + r.body());
                    } else if (!String.valueOf(r.header("Content-Type")).startsWith("application/problem+json")) {
                        violations.add(op + " with " + as + ": 400 is not application/problem+json");
                    } else if (wellFormed != null && wellFormed.status() == 400
                            && wellFormed.body().equals(r.body())) {
                        violations.add(op + " with " + as + ": refused only for its body, as a well-formed id is: "
                                + r.body());
                    }
                }
                checked.add(op + " (path ids)");
            }
            if (hasBody) {
                int status = oversized(op, base + withIds(op, PROBE_ID), oversized, headers);
                if (status != 413) {
                    violations.add(op + " with a " + OVERSIZED_BODY_BYTES / 1024 + " KiB body: expected 413, got "
                            + (status < 0 ? "no answer" : status));
                }
                checked.add(op + " (body size)");
            }
        }
        System.out.println("[input] " + service + ": " + checked.size() + " checks: " + checked);
        if (!violations.isEmpty()) {
            throw new AssertionError(violations.size() + " unchecked inputs in " + service + ":\n  "
                    + String.join("\n  ", violations));
        }
        return checked;
    }

    private static String withIds(OpenApiAuthorization.Operation op, String id) {
        return op.path().replaceAll("\\{[^}]+}", java.util.regex.Matcher.quoteReplacement(id));
    }

    /**
     * The status answering an oversized body, on a connection of its own: the server answers 413 and closes the
     * connection, possibly before the client has written the whole body, which a pooled connection would then
     * report as a broken exchange. -1 when two tries got no answer.
     */
    private static int oversized(OpenApiAuthorization.Operation op, String url, String body,
                                 Map<String, String> headers) {
        for (int attempt = 0; attempt < 2; attempt++) {
            java.net.http.HttpRequest.Builder b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(url))
                    .timeout(java.time.Duration.ofSeconds(30)).header("Content-Type", "application/json")
                    .method(op.method(), java.net.http.HttpRequest.BodyPublishers.ofString(body));
            headers.forEach(b::setHeader);
            try (java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
                    .version(java.net.http.HttpClient.Version.HTTP_1_1).build()) {
                return client.send(b.build(), java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (java.io.IOException e) {
                // the server closed the connection while the body was still being written: try once more
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return -1;
    }

    private static Http.Response call(OpenApiAuthorization.Operation op, String url, String body,
                                      Map<String, String> headers) {
        return Http.send(op.method(), url, body, headers);
    }
}
