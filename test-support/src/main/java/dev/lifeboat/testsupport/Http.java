package dev.lifeboat.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** Tiny JSON-over-HTTP helpers for tests; bodies are strings (tests parse them with their own Jackson). */
public final class Http {

    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1)
            .build();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** Status code, body and headers of one exchange. */
    public record Response(int status, String body, Map<String, java.util.List<String>> headers) {
        public boolean ok() { return status >= 200 && status < 300; }

        /** First value of a header (case-insensitive), or null. */
        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().isEmpty() ? null : e.getValue().get(0)).findFirst().orElse(null);
        }
    }

    private Http() {
    }

    public static Response get(String url) { return send("GET", url, null, Map.of()); }

    public static Response get(String url, Map<String, String> headers) { return send("GET", url, null, headers); }

    public static Response post(String url, String json) { return send("POST", url, json, Map.of()); }

    public static Response post(String url, String json, Map<String, String> headers) { return send("POST", url, json, headers); }

    public static Response put(String url, String json) { return send("PUT", url, json, Map.of()); }

    public static Response put(String url, String json, Map<String, String> headers) { return send("PUT", url, json, headers); }

    public static Response delete(String url) { return send("DELETE", url, null, Map.of()); }

    /** Any method; a non-null {@code json} body is sent as {@code application/json}. */
    public static Response send(String method, String url, String json, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(TIMEOUT)
                .header("Accept", "application/json")
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        headers.forEach(b::setHeader);
        try {
            HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body(), r.headers().map());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + url + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
