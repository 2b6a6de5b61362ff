package dev.lifeboat.repository.blob;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the S3 client's request path (marshalling, signing, interceptors, response handling), the HTTP client's
 * (the JDK's HttpURLConnection over a socket, as {@link S3ObjectStore#connect} builds it) and this store's PUT, GET
 * and HEAD a few thousand times against an S3-like server inside this process, on a loopback port of its own, so
 * that the JIT has compiled all of it before the first real backup: a fresh worker's first backups otherwise sent
 * their hundreds of requests through interpreted code and compiled the HTTP client's paths while they ran. Nothing
 * leaves the process.
 */
public final class S3Warmup {
    private S3Warmup() {
    }

    /** What a warm-up did: requests sent, the loopback server's answers to them, bytes sent and received. */
    public record Result(int requests, int answered, long bytes, long millis) {
    }

    /** {@link #run(int, int)} with objects up to a stored chunk's typical size (16 to 128 KiB). */
    public static Result run(int rounds) {
        return run(rounds, 128 * 1024);
    }

    /**
     * {@code rounds} times: a PUT of a random object of 1/8 to all of {@code maxBytes}, a GET reading it back (it
     * must come back equal), and every eighth round a HEAD of it and a GET of it once gone (a missing key). What the
     * JIT needs is the number of requests; small objects make it cheap.
     */
    public static Result run(int rounds, int maxBytes) {
        if (maxBytes < 8 || maxBytes > 1 << 20) {
            throw new IllegalArgumentException("warm-up objects of 8 bytes to 1 MiB, not " + maxBytes);
        }
        long started = System.nanoTime();
        int requests = 0;
        long bytes = 0;
        SplittableRandom random = new SplittableRandom(7);
        // an access key of this warm-up's own: the server answers no request signed with another
        String accessKey = "warm-up-" + Long.toHexString(new java.security.SecureRandom().nextLong());
        try (LoopbackS3 server = LoopbackS3.start(accessKey, maxBytes);
             S3ObjectStore store = S3ObjectStore.connect(new S3Settings(Optional.of(server.endpoint()), "us-east-1",
                     true, accessKey, "warm-up-secret", S3Settings.MIN_PART_SIZE))) {
            for (int i = 0; i < rounds; i++) {
                byte[] body = new byte[maxBytes / 8 + random.nextInt(maxBytes - maxBytes / 8 + 1)];
                random.nextBytes(body);
                String key = "warm-up/chains/c/chunks/" + Integer.toHexString(i % 64) + "/" + Integer.toHexString(i);
                store.put("warm-up", key, body);
                byte[] back;
                try (InputStream in = store.open("warm-up", key)) {
                    back = in.readNBytes(body.length + 1);
                } catch (IOException e) {
                    throw new IllegalStateException("warm-up GET of " + key + ": " + e.getMessage(), e);
                }
                if (!java.util.Arrays.equals(body, back)) {
                    throw new IllegalStateException("warm-up GET of " + key + " returned other bytes");
                }
                if (i % 8 == 0) {
                    store.size("warm-up", key);
                }
                server.objects.remove(key);
                requests += 2;
                bytes += 2L * body.length;
                if (i % 8 == 0) {
                    try {
                        store.open("warm-up", key).close();
                        throw new IllegalStateException("warm-up GET of a missing key answered");
                    } catch (ObjectNotFoundException | IOException expected) {
                        // the not-found path is taken by every chain lookup
                    }
                    requests += 2;
                }
            }
            return new Result(requests, server.answered.get(), bytes, (System.nanoTime() - started) / 1_000_000);
        }
    }

    /**
     * Answers PUT, GET and HEAD of objects from a map, as an S3 server would, on a free port of 127.0.0.1: path-style
     * requests ({@code /<bucket>/<key>}), bodies sent whole (as the store sends them). It answers only requests signed
     * with the warm-up's access key (the signature itself is not checked), refuses bodies larger than the warm-up
     * sends and holds a few objects at most (the warm-up removes each once read back): another local process that
     * finds the port for the seconds the warm-up runs can neither fill the worker's memory nor hold up the warm-up
     * (each request is answered on a thread of its own).
     */
    static final class LoopbackS3 implements AutoCloseable {
        /** The most objects held at once. */
        static final int MAX_OBJECTS = 16;
        final Map<String, byte[]> objects = new ConcurrentHashMap<>();
        final AtomicInteger answered = new AtomicInteger();
        private final HttpServer server;
        private final ExecutorService threads;
        private final String credential;
        private final int maxBody;

        private LoopbackS3(HttpServer server, ExecutorService threads, String accessKey, int maxBody) {
            this.server = server;
            this.threads = threads;
            this.credential = "Credential=" + accessKey + "/";
            this.maxBody = maxBody;
        }

        static LoopbackS3 start(String accessKey, int maxBody) {
            ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
            try {
                HttpServer server = HttpServer.create(new InetSocketAddress(
                        InetAddress.getByAddress(new byte[]{127, 0, 0, 1}), 0), 0);
                LoopbackS3 s3 = new LoopbackS3(server, threads, accessKey, maxBody);
                server.createContext("/", s3::answer);
                server.setExecutor(threads);
                server.start();
                return s3;
            } catch (IOException | RuntimeException e) {
                threads.shutdownNow();
                throw new UncheckedIOException("cannot open a loopback port for the S3 client's warm-up",
                        e instanceof IOException io ? io : new IOException(e));
            }
        }

        URI endpoint() {
            return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        }

        private void answer(HttpExchange exchange) throws IOException {
            try (exchange) {
                String authorization = exchange.getRequestHeaders().getFirst("Authorization");
                if (authorization == null || !authorization.contains(credential)) {
                    send(exchange, 403, null);
                    return;
                }
                answered.incrementAndGet();
                String path = exchange.getRequestURI().getRawPath();
                String key = path.substring(path.indexOf('/', 1) + 1);
                String method = exchange.getRequestMethod();
                byte[] body;
                try (InputStream in = exchange.getRequestBody()) {
                    body = in.readNBytes(maxBody + 1);
                }
                if (method.equals("PUT")) {
                    if (body.length > maxBody || objects.size() >= MAX_OBJECTS) {
                        send(exchange, 413, null);
                        return;
                    }
                    objects.put(key, body);
                    exchange.getResponseHeaders().set("ETag", "\"" + Integer.toHexString(body.length) + "\"");
                    exchange.sendResponseHeaders(200, -1);
                    return;
                }
                boolean head = method.equals("HEAD");
                byte[] stored = objects.get(key);
                if (stored == null) {
                    byte[] error = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>"
                            + "<Message>The specified key does not exist.</Message></Error>")
                            .getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().set("Content-Type", "application/xml");
                    send(exchange, 404, head ? null : error);
                    return;
                }
                exchange.getResponseHeaders().set("ETag", "\"e\"");
                exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
                exchange.getResponseHeaders().set("Last-Modified", "Sat, 05 Dec 2026 00:00:00 GMT");
                if (head) {
                    // a HEAD's length is the object's, and no body follows
                    exchange.getResponseHeaders().set("Content-Length", String.valueOf(stored.length));
                }
                send(exchange, 200, head ? null : stored);
            }
        }

        private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
            boolean none = body == null || body.length == 0;
            exchange.sendResponseHeaders(status, none ? -1 : body.length);
            if (!none) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        }

        @Override
        public void close() {
            server.stop(0);
            threads.shutdownNow();
        }
    }
}
