package dev.lifeboat.storage;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.testsupport.Tokens;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Stands in for scheduler-service's {@code GET /api/v1/policies/{id}} in storage-worker's component tests (the
 * policies live in scheduler-service's database, which these tests do not run). It answers only requests that carry
 * the token storage-worker was given, so the tests also prove the token is sent. One per test JVM.
 */
final class FakeScheduler {
    /** The token storage-worker sends (read from {@link #tokenFile()}). */
    static final String TOKEN = Tokens.mint("storage-worker", Roles.VIEWER);
    private static final Map<String, String> POLICIES = new ConcurrentHashMap<>();
    private static final List<String> AUTHORIZATIONS = new CopyOnWriteArrayList<>();
    private static final java.util.Set<String> UNAVAILABLE = ConcurrentHashMap.newKeySet();
    private static HttpServer server;
    private static Path tokenFile;

    private FakeScheduler() {
    }

    static synchronized String url() {
        if (server == null) {
            try {
                server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            server.createContext("/api/v1/policies/", FakeScheduler::policy);
            server.start();
        }
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    static synchronized String tokenFile() {
        if (tokenFile == null) {
            try {
                tokenFile = Files.createTempFile("storage-worker-token-", ".jwt");
                tokenFile.toFile().deleteOnExit();
                Files.writeString(tokenFile, TOKEN + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return tokenFile.toString();
    }

    /**
     * Registers a fresh policy of {@code sourceId} with these GFS counts and returns its id. Its destination is the
     * test bucket with no prefix (the worker's default prefix, the run's repository root), and no offsite copy.
     */
    static String policy(String sourceId, int daily, int weekly, int monthly) {
        return policy(sourceId, daily, weekly, monthly, "null");
    }

    /**
     * The same with an offsite destination: {@code offsitePrefix} is the policy's prefix there (the source's
     * repository is {@code <offsitePrefix>/<sourceId>}).
     */
    static String policyWithOffsite(String sourceId, String offsiteBucket, String offsitePrefix) {
        return policy(sourceId, 0, 0, 0, """
                {"bucket":"%s","prefix":"%s"}""".formatted(offsiteBucket, offsitePrefix));
    }

    private static String policy(String sourceId, int daily, int weekly, int monthly, String offsite) {
        String id = "policy-" + UUID.randomUUID().toString().substring(0, 8);
        POLICIES.put(id, """
                {"id":"%s","sourceId":"%s","type":"FULL","schedule":"0 2 * * *",
                 "retention":{"daily":%d,"weekly":%d,"monthly":%d},
                 "destination":{"bucket":"lifeboat-storage-test","prefix":null},"offsite":%s,"enabled":true}"""
                .formatted(id, sourceId, daily, weekly, monthly, offsite));
        return id;
    }

    /** While {@code down}, requests for policy {@code id} are answered 503, as by a scheduler-service that is away. */
    static void unavailable(String id, boolean down) {
        if (down) {
            UNAVAILABLE.add(id);
        } else {
            UNAVAILABLE.remove(id);
        }
    }

    /** Authorization headers of the requests received so far. */
    static List<String> authorizations() {
        return List.copyOf(AUTHORIZATIONS);
    }

    private static void policy(HttpExchange exchange) throws IOException {
        String auth = exchange.getRequestHeaders().getFirst("Authorization");
        AUTHORIZATIONS.add(String.valueOf(auth));
        String id = exchange.getRequestURI().getPath().substring("/api/v1/policies/".length());
        String body = POLICIES.get(id);
        int status = !Tokens.bearer(TOKEN).equals(auth) ? 401 : UNAVAILABLE.contains(id) ? 503 : body == null ? 404
                : 200;
        if (status != 200) {
            body = "{\"status\":" + status + ",\"title\":\"" + (status == 401 ? "Unauthorized" : status == 503
                    ? "Service Unavailable" : "Not Found") + "\"}";
        }
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", status == 200 ? "application/json"
                : "application/problem+json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }
}
