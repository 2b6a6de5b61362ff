package dev.lifeboat.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.sun.net.httpserver.HttpServer;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The workers' tests' stand-in for recovery-coordinator's target registry ({@code GET /api/v1/targets/{name}}, as
 * TargetResource answers it): the targets registered here, 404 for others, 401 without a bearer token, and 503 for
 * names made {@link #unavailable}. And for its record of the commands it sent ({@code GET
 * /api/v1/runs/{id}/commands?commandId=}, as RunResource answers it): the commands {@link #issue issued} here, awaited
 * until {@link #answered}, 404 "Command Not Sent" for others.
 */
public final class CoordinatorStandIn {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static CoordinatorStandIn instance;

    private final HttpServer server;
    private final Map<String, Map<String, Object>> targets = new ConcurrentHashMap<>();
    private final Map<String, Boolean> unavailable = new ConcurrentHashMap<>();
    private final AtomicInteger reads = new AtomicInteger();
    private final Map<String, Map<String, Object>> commands = new ConcurrentHashMap<>();
    private final AtomicInteger commandReads = new AtomicInteger();
    private volatile int commandsUnavailable;

    private CoordinatorStandIn() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/api/v1/targets/", exchange -> {
            reads.incrementAndGet();
            String name = exchange.getRequestURI().getPath().substring("/api/v1/targets/".length());
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            if (auth == null || !auth.startsWith("Bearer ") || auth.length() < 20) {
                answer(exchange, 401, "{\"status\":401,\"title\":\"Unauthorized\"}");
            } else if (unavailable.containsKey(name)) {
                answer(exchange, 503, "{\"status\":503,\"title\":\"Service Unavailable\"}");
            } else if (targets.containsKey(name)) {
                answer(exchange, 200, json(targets.get(name)));
            } else {
                answer(exchange, 404, "{\"status\":404,\"title\":\"Not Found\",\"detail\":\"target server '" + name
                        + "' not found\"}");
            }
        });
        server.createContext("/api/v1/runs/", exchange -> {
            commandReads.incrementAndGet();
            String path = exchange.getRequestURI().getPath();
            String query = exchange.getRequestURI().getQuery();
            String commandId = query == null || !query.startsWith("commandId=") ? null
                    : query.substring("commandId=".length());
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            Map<String, Object> command = commandId == null ? null : commands.get(commandId);
            if (auth == null || !auth.startsWith("Bearer ") || auth.length() < 20) {
                answer(exchange, 401, "{\"status\":401,\"title\":\"Unauthorized\"}");
            } else if (commandsUnavailable > 0) {
                commandsUnavailable--;
                answer(exchange, 503, "{\"status\":503,\"title\":\"Service Unavailable\"}");
            } else if (command != null && path.equals("/api/v1/runs/" + command.get("runId") + "/commands")) {
                answer(exchange, 200, json(command));
            } else {
                answer(exchange, 404, "{\"status\":404,\"title\":\"Command Not Sent\",\"detail\":"
                        + "\"recovery-coordinator sent no command\"}");
            }
        });
        server.start();
    }

    /**
     * The coordinator sent command {@code commandId} of {@code type} (an EventType's name), its data {@code json},
     * and waits for its reply.
     */
    public void issue(String type, String commandId, String runId, int step, String json) {
        Map<String, Object> issued = new java.util.HashMap<>();
        issued.put("commandId", commandId);
        issued.put("runId", runId);
        issued.put("step", step);
        issued.put("action", commandId.substring(commandId.lastIndexOf(':') + 1));
        issued.put("type", type);
        issued.put("awaited", true);
        try {
            issued.put("command", JSON.readTree(json));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        commands.put(commandId, issued);
    }

    /** The coordinator had its reply (or timed it out): it waits for the command no more, and still shows it. */
    public void answered(String commandId) {
        Map<String, Object> issued = new java.util.HashMap<>(commands.get(commandId));
        issued.put("awaited", false);
        commands.put(commandId, issued);
    }

    /** The next {@code times} reads of a command answer 503, as a coordinator whose database is away does. */
    public void commandsUnavailable(int times) {
        commandsUnavailable = times;
    }

    public int commandReads() {
        return commandReads.get();
    }

    public static synchronized CoordinatorStandIn get() {
        if (instance == null) {
            try {
                instance = new CoordinatorStandIn();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return instance;
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** A database target server, as an admin registers it with PUT /api/v1/targets/{name}. */
    public void register(String name, String host, int port, String user, String passwordRef, String databasePattern) {
        targets.put(name, Map.of("name", name, "kind", "database", "host", host, "port", port, "user", user,
                "passwordRef", passwordRef, "databasePattern", databasePattern, "createdBy", "test-admin"));
    }

    /** A database target server with the TLS of the workers' connections to it. */
    public void register(String name, String host, int port, String user, String passwordRef, String databasePattern,
                         String sslmode, String sslRootCertRef) {
        Map<String, Object> t = new java.util.HashMap<>(Map.of("name", name, "kind", "database", "host", host,
                "port", port, "user", user, "passwordRef", passwordRef, "databasePattern", databasePattern,
                "sslmode", sslmode, "createdBy", "test-admin"));
        if (sslRootCertRef != null) {
            t.put("sslRootCertRef", sslRootCertRef);
        }
        targets.put(name, t);
    }

    /** The registry answers 503 for {@code name}, as a coordinator whose database is away does. */
    public void unavailable(String name) {
        unavailable.put(name, true);
    }

    public int reads() {
        return reads.get();
    }

    private static String json(Map<String, Object> target) {
        try {
            return JSON.writeValueAsString(target);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void answer(com.sun.net.httpserver.HttpExchange exchange, int status, String body)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", status == 200 ? "application/json"
                : "application/problem+json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }
}
