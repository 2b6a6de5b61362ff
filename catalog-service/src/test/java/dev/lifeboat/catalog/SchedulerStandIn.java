package dev.lifeboat.catalog;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;

/**
 * A stand-in for scheduler-service: a JDK HTTP server on a free 127.0.0.1 port answering GET /api/v1/sources/{id}
 * and GET /api/v1/policies?sourceId= with the JSON shapes of scheduler-service's SourceView and PolicyView, for a
 * fixed set of sources. Why not the real scheduler: it needs its own database, schema and Kafka channels, and the
 * RPO lookup only depends on its HTTP contract; a real HTTP server still exercises the REST client, its timeouts,
 * its retries and the error mapping over a socket. It can also answer 500 or hang, which the real one cannot be
 * made to do on cue. The catalog's own side (Kafka, PostgreSQL) stays real.
 */
public class SchedulerStandIn implements QuarkusTestResourceLifecycleManager {
    /** Strictest enabled RPO PT2H (PT1M is disabled), newest backup minutes old. */
    static final String COMPLIANT = "rpo-compliant";
    /** RPO PT1H, newest restorable backup hours old (a newer one failed). */
    static final String LATE = "rpo-late";
    /** RPO P1D, no backup at all. */
    static final String NO_BACKUP = "rpo-no-backup";
    /** Only a disabled policy: nothing to comply with. */
    static final String NO_RPO = "rpo-none";
    /** A physical source (WAL archiving), RPO PT1M. */
    static final String PHYSICAL = "rpo-physical";
    /** RPO PT1H, for the per-source gauges: a stale backup, a failed verification, a failed drill. */
    static final String FLEET = "rpo-fleet";
    /** RPO PT1H, for the per-source gauges: a fresh backup. */
    static final String FLEET_OK = "rpo-fleet-ok";
    /** The stand-in answers 500 for this source. */
    static final String SCHEDULER_ERROR = "rpo-scheduler-error";
    /** The stand-in answers after 10 s for this source, past the catalog's timeout. */
    static final String SCHEDULER_HANGS = "rpo-scheduler-hangs";

    private static final Map<String, List<String>> POLICIES = Map.of(
            COMPLIANT, List.of(policy("pol-c-daily", COMPLIANT, "FULL", "P1D", true),
                    policy("pol-c-hourly", COMPLIANT, "INCREMENTAL", "PT2H", true),
                    policy("pol-c-paused", COMPLIANT, "INCREMENTAL", "PT1M", false)),
            LATE, List.of(policy("pol-l-hourly", LATE, "FULL", "PT1H", true)),
            NO_BACKUP, List.of(policy("pol-n-daily", NO_BACKUP, "FULL", "P1D", true)),
            NO_RPO, List.of(policy("pol-x-paused", NO_RPO, "FULL", "PT1H", false)),
            PHYSICAL, List.of(policy("pol-p-minute", PHYSICAL, "FULL", "PT1M", true)),
            FLEET, List.of(policy("pol-f-hourly", FLEET, "FULL", "PT1H", true)),
            FLEET_OK, List.of(policy("pol-k-hourly", FLEET_OK, "FULL", "PT1H", true)));

    private HttpServer server;
    private ExecutorService executor;

    @Override
    public Map<String, String> start() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the scheduler stand-in", e);
        }
        executor = Executors.newCachedThreadPool();
        server.setExecutor(executor);
        server.createContext("/api/v1/sources/", this::source);
        server.createContext("/api/v1/policies", this::policies);
        server.start();
        return Map.of("quarkus.rest-client.scheduler.url", "http://127.0.0.1:" + server.getAddress().getPort(),
                // the hanging source must fail fast: one second per attempt
                "quarkus.rest-client.scheduler.read-timeout", "1000");
    }

    @Override
    public void stop() {
        if (server != null) {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    private void source(HttpExchange x) throws IOException {
        String id = URLDecoder.decode(x.getRequestURI().getPath().substring("/api/v1/sources/".length()),
                StandardCharsets.UTF_8);
        switch (id) {
            case SCHEDULER_ERROR -> respond(x, 500, problem(500, "Internal Server Error", "unexpected error"));
            case SCHEDULER_HANGS -> {
                try {
                    Thread.sleep(10_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                respond(x, 200, source(id));
            }
            default -> {
                if (POLICIES.containsKey(id)) {
                    respond(x, 200, source(id));
                } else {
                    respond(x, 404, problem(404, "Not Found", "source '" + id + "' does not exist"));
                }
            }
        }
    }

    /** The sources the stand-in has policies for. */
    static java.util.Set<String> sourceIds() {
        return POLICIES.keySet();
    }

    /** As scheduler-service: all, one source's ({@code sourceId}), or those of a page of source ids ({@code sources}). */
    private void policies(HttpExchange x) throws IOException {
        String query = x.getRequestURI().getRawQuery();
        String sourceId = parameter(query, "sourceId");
        String sources = parameter(query, "sources");
        String after = parameter(query, "afterSourceId");
        List<String> list;
        if (sources != null) {
            list = POLICIES.keySet().stream().sorted()
                    .filter(id -> after == null || id.compareTo(after) > 0)
                    .limit(Integer.parseInt(sources))
                    .flatMap(id -> POLICIES.get(id).stream()).toList();
        } else {
            list = sourceId == null
                    ? POLICIES.values().stream().flatMap(List::stream).toList()
                    : POLICIES.getOrDefault(sourceId, List.of());
        }
        respond(x, 200, list.stream().collect(Collectors.joining(",", "[", "]")));
    }

    private static String parameter(String query, String name) {
        return query == null ? null : java.util.Arrays.stream(query.split("&"))
                .filter(p -> p.startsWith(name + "="))
                .map(p -> URLDecoder.decode(p.substring(name.length() + 1), StandardCharsets.UTF_8))
                .findFirst().orElse(null);
    }

    private static void respond(HttpExchange x, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", status >= 400 ? "application/problem+json" : "application/json");
        x.sendResponseHeaders(status, body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    /** scheduler-service's SourceView. */
    private static String source(String id) {
        return """
                {"id":"%s","name":"%s db","kind":"POSTGRES","method":"%s","host":"127.0.0.1","port":25432,\
                "database":"app","username":"app","passwordRef":"env:APP_DB_PASSWORD",\
                "createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}"""
                .formatted(id, id, PHYSICAL.equals(id) ? "physical" : "logical");
    }

    /** scheduler-service's PolicyView. */
    private static String policy(String id, String sourceId, String type, String rpo, boolean enabled) {
        return """
                {"id":"%s","sourceId":"%s","type":"%s","schedule":"0 0 * * * ?","nextRunAt":%s,\
                "retention":{"daily":7,"weekly":4,"monthly":12},\
                "destination":{"bucket":"lifeboat-backups","prefix":"%s/"},"rpo":"%s","enabled":%s,\
                "createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}"""
                .formatted(id, sourceId, type, enabled ? "\"2026-01-01T01:00:00Z\"" : "null", sourceId, rpo, enabled);
    }

    private static String problem(int status, String title, String detail) {
        return """
                {"type":"about:blank","title":"%s","status":%d,"detail":"%s"}""".formatted(title, status, detail);
    }
}
