package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lifeboat.cli.Settings.Service;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;
import java.util.stream.Stream;

/**
 * The services' HTTP APIs: JSON in and out, the bearer token on every call, and each failure turned into a
 * {@link CliException} carrying the RFC 9457 problem's title and detail (never the token) and its exit code.
 */
final class Api {
    static final ObjectMapper JSON = new ObjectMapper();

    private final Settings settings;
    private final HttpClient http;
    private final Duration requestTimeout;

    Api(Settings settings, Duration requestTimeout) {
        this.settings = settings;
        this.requestTimeout = requestTimeout;
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
                .followRedirects(HttpClient.Redirect.NEVER);
        if (settings.urls.values().stream().noneMatch(u -> "https".equals(u.getScheme()))) {
            b.sslContext(noTls());
        }
        this.http = b.build();
    }

    /**
     * The TLS context of a client that only ever speaks plain HTTP (every URL http, no redirects followed): it trusts
     * no certificate, so it needs none of the JDK's trust store, whose loading was a fifth of a short command's start.
     * A TLS connection made with it would fail its handshake.
     */
    private static javax.net.ssl.SSLContext noTls() {
        try {
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(new javax.net.ssl.KeyManager[0], new javax.net.ssl.TrustManager[0], null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("no TLS implementation in this Java: " + e.getMessage(), e);
        }
    }

    /** A response the caller inspects itself (a status it expects, such as 404 while a backup is not yet known). */
    record Response(int status, String body, String contentType) {
        JsonNode json() {
            try {
                return body == null || body.isBlank() ? JSON.nullNode() : JSON.readTree(body);
            } catch (IOException e) {
                throw new CliException(ExitCodes.FAILED, "the server answered " + status + " with a body that is not JSON");
            }
        }
    }

    URI uri(Service service, String path, Map<String, String> query) {
        StringJoiner q = new StringJoiner("&");
        if (query != null) {
            query.forEach((k, v) -> {
                if (v != null) {
                    q.add(k + "=" + URLEncoder.encode(v, StandardCharsets.UTF_8));
                }
            });
        }
        String base = settings.urls.get(service).toString();
        return URI.create(base + path + (q.length() == 0 ? "" : "?" + q));
    }

    JsonNode get(Service s, String path) {
        return get(s, path, null);
    }

    JsonNode get(Service s, String path, Map<String, String> query) {
        return checked(s, send(s, "GET", uri(s, path, query), null)).json();
    }

    JsonNode post(Service s, String path, Object body) {
        return checked(s, send(s, "POST", uri(s, path, null), body)).json();
    }

    /** A POST whose answer may take longer than the usual deadline: it waits {@code atLeast}, or --timeout if longer. */
    JsonNode postSlow(Service s, String path, Object body, Duration atLeast) {
        Duration timeout = atLeast.compareTo(requestTimeout) > 0 ? atLeast : requestTimeout;
        return checked(s, send(s, "POST", uri(s, path, null), body, timeout)).json();
    }

    /** A slow POST ({@link #postSlow}) whose answer the caller judges itself (a status with a body it reads). */
    Response postSlowUnchecked(Service s, String path, Object body, Duration atLeast) {
        Duration timeout = atLeast.compareTo(requestTimeout) > 0 ? atLeast : requestTimeout;
        return send(s, "POST", uri(s, path, null), body, timeout);
    }

    JsonNode put(Service s, String path, Object body) {
        return checked(s, send(s, "PUT", uri(s, path, null), body)).json();
    }

    void delete(Service s, String path) {
        checked(s, send(s, "DELETE", uri(s, path, null), null));
    }

    /** Sends without judging the status; unreachable servers and timeouts still throw (exit code 5). */
    Response send(Service service, String method, URI uri, Object body) {
        return send(service, method, uri, body, requestTimeout);
    }

    private Response send(Service service, String method, URI uri, Object body, Duration timeout) {
        HttpRequest.Builder b = request(uri).timeout(timeout).header("Accept", "application/json");
        try {
            if (body == null) {
                b.method(method, HttpRequest.BodyPublishers.noBody());
            } else {
                b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(
                        body instanceof String str ? str : JSON.writeValueAsString(body)));
            }
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse(""));
        } catch (IOException e) {
            throw unreachable(service, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException(ExitCodes.FAILED, "interrupted");
        }
    }

    /**
     * Opens a server-sent-events stream; null when the server answers anything but 200 with
     * {@code text/event-stream} (the stream is not offered: the caller polls instead).
     */
    HttpResponse<Stream<String>> openEvents(Service service, String path) {
        HttpRequest req = request(uri(service, path, null)).header("Accept", "text/event-stream").GET()
                .timeout(requestTimeout).build();
        try {
            HttpResponse<Stream<String>> r = http.send(req, HttpResponse.BodyHandlers.ofLines());
            boolean events = r.statusCode() == 200 && r.headers().firstValue("Content-Type").orElse("")
                    .startsWith("text/event-stream");
            if (!events) {
                r.body().close();
                if (r.statusCode() == 401 || r.statusCode() == 403) {
                    throw new CliException(ExitCodes.AUTH, service.key + " answered " + r.statusCode() + authHint());
                }
                return null;
            }
            return r;
        } catch (IOException e) {
            throw unreachable(service, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException(ExitCodes.FAILED, "interrupted");
        }
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("User-Agent", "lifeboat-cli");
        if (settings.token != null) {
            b.header("Authorization", "Bearer " + settings.token);
        }
        return b;
    }

    private CliException unreachable(Service service, IOException e) {
        String url = settings.urls.get(service).toString();
        if (e instanceof HttpConnectTimeoutException || e instanceof ConnectException) {
            return new CliException(ExitCodes.UNREACHABLE, "cannot reach " + service.key + " at " + url
                    + " (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")");
        }
        if (e instanceof HttpTimeoutException) {
            return new CliException(ExitCodes.UNREACHABLE, service.key + " at " + url + " did not answer within "
                    + requestTimeout.toSeconds() + " s");
        }
        return new CliException(ExitCodes.UNREACHABLE, "talking to " + service.key + " at " + url + " failed: "
                + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
    }

    private String authHint() {
        return settings.token == null
                ? " (no token: run `lifeboat login`, set LIFEBOAT_TOKEN or pass --token-file)"
                : " (token from " + settings.tokenOrigin + ")";
    }

    /** The response when it is a 2xx; otherwise the problem it carries as a {@link CliException}. */
    Response checked(Service service, Response r) {
        if (r.status() >= 200 && r.status() < 300) {
            return r;
        }
        String problem = problemText(r);
        int code = switch (r.status()) {
            case 401, 403 -> ExitCodes.AUTH;
            case 404 -> ExitCodes.NOT_FOUND;
            case 400, 409, 413, 422 -> ExitCodes.REFUSED;
            case 502, 503, 504 -> ExitCodes.UNREACHABLE;
            case 429 -> ExitCodes.BUSY;
            default -> ExitCodes.FAILED;
        };
        String hint = code == ExitCodes.AUTH ? authHint() : "";
        throw new CliException(code, service.key + " answered " + r.status() + ": " + problem + hint);
    }

    /** "title: detail" of an RFC 9457 problem, with its invalid fields; the status text for anything else. */
    static String problemText(Response r) {
        JsonNode p;
        try {
            p = r.body() == null || r.body().isBlank() ? null : JSON.readTree(r.body());
        } catch (IOException e) {
            p = null;
        }
        if (p == null || !p.isObject()) {
            return switch (r.status()) {
                case 401 -> "Unauthorized";
                case 403 -> "Forbidden";
                case 404 -> "Not Found";
                default -> "HTTP " + r.status();
            };
        }
        StringBuilder sb = new StringBuilder();
        String title = p.path("title").asText("");
        String detail = p.path("detail").asText("");
        sb.append(title.isEmpty() ? "HTTP " + r.status() : title);
        if (!detail.isEmpty() && !detail.equals(title)) {
            sb.append(": ").append(detail);
        }
        Map<String, String> fields = new LinkedHashMap<>();
        for (JsonNode e : p.path("errors")) {
            fields.put(e.path("field").asText(), e.path("message").asText());
        }
        fields.forEach((f, m) -> sb.append("; ").append(f).append(": ").append(m));
        return sb.toString();
    }
}
