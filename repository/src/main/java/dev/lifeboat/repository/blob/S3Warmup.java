package dev.lifeboat.repository.blob;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpResponse;

/**
 * Runs the S3 client's request path (marshalling, signing, interceptors, response handling) and this store's
 * PUT, GET and HEAD a few thousand times against an in-memory HTTP client, so that the JIT has compiled it before
 * the first real backup: a fresh worker's first backup otherwise sends its hundreds of requests through
 * interpreted SDK code. Nothing leaves the process; the client is configured as {@link S3ObjectStore#connect}
 * configures it, with an endpoint nobody is asked.
 */
public final class S3Warmup {
    private S3Warmup() {
    }

    /** What a warm-up did. */
    public record Result(int requests, long bytes, long millis) {
    }

    /** {@link #run(int, int)} with objects up to a stored chunk's typical size (16 to 128 KiB). */
    public static Result run(int rounds) {
        return run(rounds, 128 * 1024);
    }

    /**
     * {@code rounds} times: a PUT of a random object of 1/8 to all of {@code maxBytes}, a GET reading it back (it
     * must come back equal), and every eighth round a HEAD and a GET of a missing key. What the JIT needs is the
     * number of requests; small objects make it cheap.
     */
    public static Result run(int rounds, int maxBytes) {
        long started = System.nanoTime();
        InMemoryHttp http = new InMemoryHttp();
        S3Settings settings = new S3Settings(Optional.of(URI.create("http://127.0.0.1:9")), "us-east-1", true,
                "warm-up", "warm-up-secret", S3Settings.MIN_PART_SIZE);
        int requests = 0;
        long bytes = 0;
        SplittableRandom random = new SplittableRandom(7);
        try (S3ObjectStore store = new S3ObjectStore(S3ObjectStore.configured(settings).httpClient(http).build(),
                settings.partSizeBytes())) {
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
                http.objects.remove(key);
                requests += 2;
                bytes += 2L * body.length;
                if (i % 8 == 0) {
                    store.size("warm-up", key);
                    try {
                        store.open("warm-up", key).close();
                        throw new IllegalStateException("warm-up GET of a missing key answered");
                    } catch (ObjectNotFoundException | IOException expected) {
                        // the not-found path is taken by every chain lookup
                    }
                    requests += 2;
                }
            }
        }
        return new Result(requests, bytes, (System.nanoTime() - started) / 1_000_000);
    }

    /** An HTTP client answering PUT, GET and HEAD of objects from a map, as an S3 server would. */
    static final class InMemoryHttp implements SdkHttpClient {
        final Map<String, byte[]> objects = new ConcurrentHashMap<>();

        @Override
        public ExecutableHttpRequest prepareRequest(HttpExecuteRequest request) {
            return new ExecutableHttpRequest() {
                @Override
                public HttpExecuteResponse call() throws IOException {
                    return answer(request);
                }

                @Override
                public void abort() {
                }
            };
        }

        private HttpExecuteResponse answer(HttpExecuteRequest request) throws IOException {
            String path = request.httpRequest().encodedPath();
            String key = path.substring(path.indexOf('/', 1) + 1); // path style: /<bucket>/<key>
            SdkHttpMethod method = request.httpRequest().method();
            if (method == SdkHttpMethod.PUT) {
                byte[] body;
                try (InputStream in = request.contentStreamProvider().orElseThrow().newStream()) {
                    body = in.readAllBytes();
                }
                objects.put(key, body);
                return response(200, null, Map.of("ETag", "\"" + Integer.toHexString(body.length) + "\""));
            }
            byte[] stored = objects.get(key);
            if (stored == null) {
                byte[] error = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>"
                        + "<Message>The specified key does not exist.</Message></Error>")
                        .getBytes(StandardCharsets.UTF_8);
                return response(404, method == SdkHttpMethod.HEAD ? null : error,
                        Map.of("Content-Type", "application/xml"));
            }
            return response(200, method == SdkHttpMethod.HEAD ? null : stored,
                    Map.of("Content-Length", String.valueOf(stored.length), "ETag", "\"e\"",
                            "Content-Type", "application/octet-stream",
                            "Last-Modified", "Sat, 05 Dec 2026 00:00:00 GMT"));
        }

        private static HttpExecuteResponse response(int status, byte[] body, Map<String, String> headers) {
            SdkHttpResponse.Builder r = SdkHttpResponse.builder().statusCode(status);
            headers.forEach(r::putHeader);
            if (body != null && !headers.containsKey("Content-Length")) {
                r.putHeader("Content-Length", String.valueOf(body.length));
            }
            HttpExecuteResponse.Builder out = HttpExecuteResponse.builder().response(r.build());
            if (body != null) {
                out.responseBody(AbortableInputStream.create(new ByteArrayInputStream(body)));
            }
            return out.build();
        }

        @Override
        public String clientName() {
            return "lifeboat-warm-up";
        }

        @Override
        public void close() {
        }
    }
}
