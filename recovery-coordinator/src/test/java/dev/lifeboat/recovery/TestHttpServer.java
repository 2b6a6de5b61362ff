package dev.lifeboat.recovery;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** A real HTTP server on a free 127.0.0.1 port (JDK httpserver): fixed answers per path, every request recorded. */
public final class TestHttpServer {
    public record Request(String method, String path, String body) {
    }

    private record Answer(int status, String body, String location) {
    }

    private final HttpServer server;
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();

    private TestHttpServer(HttpServer server) {
        this.server = server;
    }

    public static TestHttpServer start() {
        return start(0);
    }

    public static TestHttpServer start(int port) {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
            TestHttpServer t = new TestHttpServer(server);
            server.createContext("/", exchange -> {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                String path = exchange.getRequestURI().getPath();
                t.requests.add(new Request(exchange.getRequestMethod(), path, body));
                Answer a = t.answers.getOrDefault(path, new Answer(404, "{\"status\":404}", null));
                byte[] out = a.body().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/json");
                if (a.location() != null) {
                    exchange.getResponseHeaders().add("Location", a.location());
                }
                exchange.sendResponseHeaders(a.status(), out.length == 0 ? -1 : out.length);
                if (out.length > 0) {
                    exchange.getResponseBody().write(out);
                }
                exchange.close();
            });
            server.start();
            return t;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public TestHttpServer respond(String path, int status, String body) {
        answers.put(path, new Answer(status, body, null));
        return this;
    }

    /** Answers {@code status} (a 3xx) with a Location header and a body. */
    public TestHttpServer redirect(String path, int status, String location, String body) {
        answers.put(path, new Answer(status, body, location));
        return this;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    public List<Request> requests(String path) {
        return requests.stream().filter(r -> r.path().equals(path)).toList();
    }

    public void stop() {
        server.stop(0);
    }
}
