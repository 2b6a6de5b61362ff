import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.RepositoryStats;
import dev.lifeboat.contracts.SnapshotCreated;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The two halves of deploy/bench/auth-bench.sh, run as single-file source programs.
 *
 * <pre>
 * java -cp 'catalog-service/target/quarkus-app/lib/main/*' AuthBench.java topics BOOTSTRAP PREFIX create|delete [GROUP]
 * java -cp 'catalog-service/target/quarkus-app/lib/main/*' AuthBench.java seed BOOTSTRAP PREFIX BACKUPS SOURCES
 * java AuthBench.java load URL TOKEN_FILE REQUESTS WARMUP CONCURRENCY
 * </pre>
 *
 * {@code seed} publishes what the platform publishes for each backup (BackupRequested, SnapshotCreated, then
 * BackupCompleted, or BackupFailed for about one in forty) as CloudEvents made by the contracts module's
 * EventCodec, to the bench's own topics {@code PREFIX.backup.requested.v1} and {@code PREFIX.backup.events.v1}.
 * {@code load} sends REQUESTS GETs to URL from CONCURRENCY virtual threads after WARMUP unmeasured ones, every
 * request with the bearer token of TOKEN_FILE, and prints {@code p50_ms p99_ms requests_per_s}; any answer other
 * than 200 stops it.
 */
public final class AuthBench {

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage("no command");
        }
        switch (args[0]) {
            case "topics" -> topics(args);
            case "seed" -> seed(args);
            case "load" -> load(args);
            default -> usage("unknown command '" + args[0] + "'");
        }
    }

    static void usage(String why) {
        System.err.println("AuthBench: " + why + "; commands: topics BOOTSTRAP PREFIX create|delete [GROUP], "
                + "seed BOOTSTRAP PREFIX BACKUPS SOURCES, load URL TOKEN_FILE REQUESTS WARMUP CONCURRENCY");
        System.exit(2);
    }

    static List<String> benchTopics(String prefix) {
        return List.of(prefix + ".backup.requested.v1", prefix + ".backup.events.v1",
                prefix + ".recovery.events.v1", prefix + ".wal.status.v1", prefix + ".dlq.v1");
    }

    /** The client settings plus SASL SCRAM when KAFKA_SASL_JAAS_CONFIG is set (the broker of the local stack). */
    static Map<String, Object> kafka(Map<String, Object> base) {
        Map<String, Object> config = new HashMap<>(base);
        String jaas = System.getenv("KAFKA_SASL_JAAS_CONFIG");
        if (jaas != null && !jaas.isBlank()) {
            config.put("security.protocol", "SASL_PLAINTEXT");
            config.put("sasl.mechanism", "SCRAM-SHA-512");
            config.put("sasl.jaas.config", jaas);
        }
        return config;
    }

    /** Creates the bench's topics (4 partitions, like the platform's), or deletes them and the consumer group. */
    static void topics(String[] args) throws Exception {
        if (args.length < 4) {
            usage("topics needs BOOTSTRAP PREFIX create|delete");
        }
        Map<String, Object> config = kafka(Map.of("bootstrap.servers", args[1], "request.timeout.ms", 30_000));
        try (var admin = org.apache.kafka.clients.admin.Admin.create(config)) {
            List<String> names = benchTopics(args[2]);
            if (args[3].equals("create")) {
                admin.createTopics(names.stream().map(n -> new org.apache.kafka.clients.admin.NewTopic(n, 4, (short) 1))
                        .toList()).all().get(60, TimeUnit.SECONDS);
            } else {
                if (args.length > 4) {
                    try {
                        admin.deleteConsumerGroups(List.of(args[4])).all().get(60, TimeUnit.SECONDS);
                    } catch (java.util.concurrent.ExecutionException e) {
                        if (!(e.getCause() instanceof org.apache.kafka.common.errors.GroupIdNotFoundException)) {
                            throw e;
                        }
                    }
                }
                var existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
                List<String> present = names.stream().filter(existing::contains).toList();
                admin.deleteTopics(present).all().get(60, TimeUnit.SECONDS);
            }
        }
    }

    static void seed(String[] args) throws Exception {
        if (args.length < 5) {
            usage("seed needs BOOTSTRAP PREFIX BACKUPS SOURCES");
        }
        String prefix = args[2];
        int backups = Integer.parseInt(args[3]);
        int sources = Integer.parseInt(args[4]);
        String requestedTopic = benchTopics(prefix).get(0);
        String eventsTopic = benchTopics(prefix).get(1);
        Random random = new Random(42);
        Map<String, Object> config = kafka(Map.of("bootstrap.servers", args[1], "acks", "all",
                "linger.ms", 20, "enable.idempotence", true));
        var serializer = new org.apache.kafka.common.serialization.StringSerializer();
        int perSource = (backups + sources - 1) / sources;
        Instant newest = Instant.now().truncatedTo(ChronoUnit.HOURS);
        int sent = 0;
        List<Future<?>> pending = new ArrayList<>();
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<>(config, serializer, serializer)) {
            for (int s = 0; s < sources && sent < backups * 3; s++) {
                String source = "bench-db-" + (s + 1);
                String database = "app" + (s + 1);
                String chain = UUID.randomUUID().toString();
                String parent = null;
                // hourly backups going back in time, a FULL every 24th (a new chain), INCREMENTAL otherwise
                for (int i = 0; i < perSource && sent / 3 < backups; i++) {
                    int age = perSource - 1 - i;
                    Instant requested = newest.minus(Duration.ofHours(age)).plusSeconds(s * 37L);
                    boolean full = i % 24 == 0;
                    if (full) {
                        chain = UUID.randomUUID().toString();
                        parent = null;
                    }
                    BackupType type = full ? BackupType.FULL : BackupType.INCREMENTAL;
                    String policy = full ? "daily-full" : "hourly";
                    String id = UUID.randomUUID().toString();
                    long raw = full ? 900_000_000L + random.nextInt(200_000_000) : 20_000_000L + random.nextInt(30_000_000);
                    long size = raw / 5;
                    Instant started = requested.plusMillis(200 + random.nextInt(2_000));
                    Instant finished = started.plusSeconds(full ? 12 + random.nextInt(8) : 3 + random.nextInt(4));
                    String manifest = source + "/chains/" + chain + "/manifests/" + id + ".json";
                    String sha = sha256Of(id);
                    var stats = new RepositoryStats(RepositoryStats.CHUNKED_V1, chain, parent, type, false, raw, size,
                            raw / 1_048_576 + 1, size / 1_048_576 + 1);
                    pending.add(send(producer, requestedTopic, id, requested,
                            new BackupRequested(id, source, type, policy, "scheduler")));
                    pending.add(send(producer, eventsTopic, id, finished, new SnapshotCreated(id, source, policy, type,
                            database, "lifeboat-backups", manifest, size, raw, sha, "15.8", "15.8", "snapshot-worker-1",
                            started, finished, stats)));
                    if (random.nextInt(40) == 0) {
                        pending.add(send(producer, eventsTopic, id, finished.plusSeconds(2), new BackupFailed(id, source,
                                "VERIFY", "archive size differs from the snapshot's: read back 0 bytes", finished.plusSeconds(2))));
                    } else {
                        Instant completed = finished.plusSeconds(1 + random.nextInt(3));
                        pending.add(send(producer, eventsTopic, id, completed, new BackupCompleted(id, source, policy, type,
                                "lifeboat-backups", manifest, manifest, size, raw, sha, started, completed,
                                Duration.between(started, completed).toMillis(), stats, null)));
                        parent = id;
                    }
                    sent += 3;
                }
            }
            producer.flush();
            for (Future<?> f : pending) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
        System.out.println(sent / 3);
    }

    static Future<?> send(org.apache.kafka.clients.producer.KafkaProducer<String, String> producer, String topic,
                          String key, Instant time, Object data) {
        EventType type = EventType.of(data.getClass());
        String value = EventCodec.encodeData(data);
        // the catalog dead-letters an event its schema refuses: refuse it here instead, before anything is sent
        EventCodec.decodeData(type, value);
        var headers = EventCodec.headers(UUID.randomUUID().toString(), type, "/bench/auth-bench", key, time);
        return producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, null, key, value, headers));
    }

    static String sha256Of(String text) throws Exception {
        byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(text.getBytes());
        return java.util.HexFormat.of().formatHex(d);
    }

    static void load(String[] args) throws Exception {
        if (args.length < 6) {
            usage("load needs URL TOKEN_FILE REQUESTS WARMUP CONCURRENCY");
        }
        URI uri = URI.create(args[1]);
        String token = Files.readString(Path.of(args[2])).strip();
        int requests = Integer.parseInt(args[3]);
        int warmup = Integer.parseInt(args[4]);
        int concurrency = Integer.parseInt(args[5]);
        try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).executor(Executors.newVirtualThreadPerTaskExecutor()).build()) {
            HttpRequest request = HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + token)
                    .header("Accept", "application/json").timeout(Duration.ofSeconds(30)).GET().build();
            run(client, request, warmup, concurrency, null);
            long[] latencies = new long[requests];
            long t0 = System.nanoTime();
            run(client, request, requests, concurrency, latencies);
            double seconds = (System.nanoTime() - t0) / 1e9;
            Arrays.sort(latencies);
            System.out.printf(java.util.Locale.ROOT, "%.2f %.2f %.0f%n", percentile(latencies, 50) / 1e6,
                    percentile(latencies, 99) / 1e6, requests / seconds);
        }
    }

    /** Sends {@code count} requests from {@code concurrency} virtual threads; records each latency when asked. */
    static void run(HttpClient client, HttpRequest request, int count, int concurrency, long[] latencies) throws Exception {
        AtomicInteger next = new AtomicInteger();
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < concurrency; w++) {
                workers.add(threads.submit(() -> {
                    for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                        long start = System.nanoTime();
                        HttpResponse<byte[]> response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
                        long took = System.nanoTime() - start;
                        if (response.statusCode() != 200) {
                            throw new IllegalStateException(request.uri() + " answered " + response.statusCode() + ": "
                                    + new String(response.body(), 0, Math.min(300, response.body().length)));
                        }
                        if (latencies != null) {
                            latencies[i] = took;
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : workers) {
                f.get();
            }
        }
    }

    /** Nearest-rank percentile of sorted values. */
    static long percentile(long[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }
}
