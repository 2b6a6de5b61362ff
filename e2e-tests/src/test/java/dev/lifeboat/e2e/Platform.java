package dev.lifeboat.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.S3Buckets;
import dev.lifeboat.testsupport.ServiceProcess;
import dev.lifeboat.testsupport.TableFingerprint;
import dev.lifeboat.testsupport.Tokens;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The packaged services started as separate processes against the real servers, as in production:
 * scheduler, catalog, storage-worker (one instance, or two in one consumer group) and two snapshot-worker
 * instances in one consumer group. They use their own platform database so they never see the quick-start
 * platform's state. {@link #restart} brings a crashed instance back on its port, group and environment.
 */
final class Platform implements AutoCloseable {
    static final String PLATFORM_DB = "lifeboat_it";
    static final String SOURCE_PASSWORD_ENV = "LIFEBOAT_SECRET_E2E_SOURCE_PASSWORD";
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    final LocalStack stack;
    final Path spoolRoot;
    /** The repository master key, handed to the workers as a key file, as a mounted secret would be. */
    final MasterKey masterKey = MasterKey.generate();
    final Path masterKeyFile;
    final List<ServiceProcess> processes = new java.util.concurrent.CopyOnWriteArrayList<>();
    private static final String RUN_ID = Long.toString(System.currentTimeMillis(), 36);
    /**
     * Numbers the platforms of one run: each has consumer groups of its own. A platform stopped just before may
     * still have members in its groups until their sessions expire, and a group with members refuses new offsets.
     */
    private static final AtomicInteger PLATFORMS = new AtomicInteger();
    private final String groupSuffix = RUN_ID + "-" + PLATFORMS.incrementAndGet();
    /** one group per service, shared by its instances (the two snapshot-workers split the work) */
    private final Map<String, String> groups = new HashMap<>();
    final int schedulerPort = ServiceProcess.freePort();
    final int catalogPort = ServiceProcess.freePort();
    final int coordinatorPort = ServiceProcess.freePort();
    /** Where the tests' restart and webhook endpoints listen: the coordinator's URL allowlist names only this. */
    final int hooksPort = ServiceProcess.freePort();
    ServiceProcess scheduler;
    ServiceProcess catalog;
    ServiceProcess storage;
    /** The second storage-worker instance, when started with two; else null. */
    ServiceProcess storageB;
    ServiceProcess snapshotA;
    ServiceProcess snapshotB;
    ServiceProcess coordinator;

    private Platform(LocalStack stack, Map<String, String> commonEnv) throws IOException {
        this.stack = stack;
        this.commonEnv = Map.copyOf(commonEnv);
        this.spoolRoot = Files.createTempDirectory("lifeboat-e2e-spool");
        this.masterKeyFile = Files.createTempFile("lifeboat-e2e-master", ".key");
        Files.writeString(masterKeyFile, masterKey.toBase64());
    }

    /** How each instance was launched, by name: what {@link #restart} launches again. */
    private final Map<String, Launch> launches = new HashMap<>();
    /** Added to every service's environment (settings a test shortens, such as deadlines). */
    private final Map<String, String> commonEnv;

    private record Launch(String module, Path root, int port, Map<String, String> env) {
    }

    /**
     * The platform of the test classes that need no settings of their own beyond {@link #SHARED_ENV} (one
     * storage-worker): started by the first of them and kept for the next, since a start and a stop of the services
     * take about a minute and a half on two cores. It is stopped when a platform with settings of its own starts (two
     * platforms at once would each consume the other's records) and at the end of the run: a
     * class that uses it is annotated {@code @ExtendWith(Platform.Shared.class)} and leaves every instance running as
     * it found it. Each instance must be ready within lifeboat.e2e.ready (ISO-8601, default PT2M; longer on a loaded
     * machine).
     */
    static synchronized Platform shared() throws Exception {
        if (shared == null) {
            shared = start(1, SHARED_ENV, Duration.parse(System.getProperty("lifeboat.e2e.ready", "PT2M")));
        }
        return shared;
    }

    /**
     * The shared platform's settings: an instance restarted after a crash takes its partitions back once the crashed
     * one's session expired, so keep that short (6 s instead of Kafka's 45); instances are restarted while others
     * run, and on a busy machine the first database connection may be slow.
     */
    static final Map<String, String> SHARED_ENV = Map.of("KAFKA_SESSION_TIMEOUT_MS", "6000",
            "QUARKUS_DATASOURCE_JDBC_ACQUISITION_TIMEOUT", "60S");

    private static Platform shared;

    private static synchronized void closeShared() {
        if (shared != null) {
            Platform p = shared;
            shared = null;
            p.close();
        }
    }

    /** Stops the shared platform once every test class of the run has finished (the root context closes). */
    static final class Shared implements BeforeAllCallback {
        @Override
        public void beforeAll(ExtensionContext context) {
            context.getRoot().getStore(ExtensionContext.Namespace.create(Shared.class))
                    .computeIfAbsent(Shared.class, k -> (AutoCloseable) Platform::closeShared, AutoCloseable.class);
        }
    }

    /**
     * Starts the platform with {@code storageWorkers} (1 or 2) storage-worker instances; {@code commonEnv} is added
     * to every service's environment; each instance must be ready within {@code ready}. The shared platform, when
     * running, is stopped first.
     */
    static Platform start(int storageWorkers, Map<String, String> commonEnv, Duration ready) throws Exception {
        if (storageWorkers < 1 || storageWorkers > 2) {
            throw new IllegalArgumentException("storage-worker instances: 1 or 2, not " + storageWorkers);
        }
        closeShared();
        LocalStack stack = LocalStack.ensureStarted();
        refuseToShareTopicsWithARunningPlatform(stack);
        Databases.createDatabase(PLATFORM_DB);
        Databases.execute(PLATFORM_DB, "alter database " + PLATFORM_DB + " owner to lifeboat");
        Platform p = new Platform(stack, commonEnv);
        Path root = stack.repoRoot();
        try {
            p.launchAll(storageWorkers, root, ready);
        } catch (Exception | Error notStarted) {
            // the test fails; its instances must not keep running (and loading the machine) under the next tests
            p.close();
            throw notStarted;
        }
        return p;
    }

    private void launchAll(int storageWorkers, Path root, Duration ready) throws IOException {
        scheduler = launch("scheduler-service", root, schedulerPort, Map.of());
        String schedulerUrl = "http://127.0.0.1:" + schedulerPort;
        // the catalog reads a source's policies (and its method) from scheduler-service for GET /sources/{id}/rpo
        // ... and its dashboard relays drills to recovery-coordinator and links runs to their traces in Zipkin
        catalog = launch("catalog-service", root, catalogPort, Map.of("SCHEDULER_URL", schedulerUrl,
                "COORDINATOR_URL", "http://127.0.0.1:" + coordinatorPort, "ZIPKIN_UI_URL", stack.zipkinUrl()));
        // storage-worker reads a policy's source and retention before it deletes what a BackupsExpired names, and
        // each recovery command back from recovery-coordinator before it acts on it
        String coordinatorUrl = "http://127.0.0.1:" + coordinatorPort;
        storage = launch("storage-worker", root, ServiceProcess.freePort(), Map.of("SCHEDULER_URL", schedulerUrl,
                "COORDINATOR_URL", coordinatorUrl));
        if (storageWorkers == 2) {
            storageB = launch("storage-worker", "storage-worker-b", root, ServiceProcess.freePort(),
                    Map.of("SCHEDULER_URL", schedulerUrl, "COORDINATOR_URL", coordinatorUrl));
        }
        // snapshot-worker reads the target server a recovery command names from recovery-coordinator's registry
        snapshotA = launch("snapshot-worker", "snapshot-worker-a", root, ServiceProcess.freePort(), Map.of(
                "SCHEDULER_URL", schedulerUrl, "COORDINATOR_URL", "http://127.0.0.1:" + coordinatorPort,
                "LIFEBOAT_SPOOL_DIR", spoolRoot.resolve("a").toString(),
                "LIFEBOAT_SNAPSHOT_WORKER_ID", "worker-a", SOURCE_PASSWORD_ENV, stack.pgSuperPassword()));
        snapshotB = launch("snapshot-worker", "snapshot-worker-b", root, ServiceProcess.freePort(), Map.of(
                "SCHEDULER_URL", schedulerUrl, "COORDINATOR_URL", "http://127.0.0.1:" + coordinatorPort,
                "LIFEBOAT_SPOOL_DIR", spoolRoot.resolve("b").toString(),
                "LIFEBOAT_SNAPSHOT_WORKER_ID", "worker-b", SOURCE_PASSWORD_ENV, stack.pgSuperPassword()));
        coordinator = launchCoordinator();
        for (ServiceProcess s : processes) {
            s.awaitReady(ready);
        }
    }

    /**
     * Two platforms on the same topics would take each other's work; the quick-start one (services on 8081..8085, Kafka
     * on 9092) must be stopped first. Tests on a Kafka of their own (KAFKA_PORT) share no topics with it.
     */
    private static void refuseToShareTopicsWithARunningPlatform(LocalStack stack) {
        if (!stack.kafkaBootstrap().endsWith(":9092")) {
            return;
        }
        for (int port = 8081; port <= 8085; port++) {
            try {
                HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200 || r.statusCode() == 503) {
                    throw new IllegalStateException("a Lifeboat service already answers on port " + port + "; it shares "
                            + "Kafka topics with these tests. Stop the local platform first: ./lifeboat down");
                }
            } catch (IOException | InterruptedException e) {
                // nothing listening: good
            }
        }
    }

    /** Starts recovery-coordinator on its fixed port and consumer group: a restart after a crash resumes its runs. */
    ServiceProcess launchCoordinator() throws IOException {
        Map<String, String> env = new HashMap<>(Tokens.serviceEnvironment());
        env.put("SCHEDULER_URL", "http://127.0.0.1:" + schedulerPort);
        env.put("RECOVERY_URL_ALLOWLIST", "http://127.0.0.1:" + hooksPort + "/");
        env.put("PLATFORM_URLS", "http://127.0.0.1:" + schedulerPort + ",http://127.0.0.1:" + catalogPort
                + ",http://127.0.0.1:" + coordinatorPort);
        return launch("recovery-coordinator", stack.repoRoot(), coordinatorPort, env);
    }

    private ServiceProcess launch(String module, Path root, int port, Map<String, String> env) throws IOException {
        return launch(module, module, root, port, env);
    }

    /**
     * Each platform of a test run uses its own consumer groups, starting at the current end of the topics: records
     * left by earlier runs or by the component tests (other master keys, unknown sources) are not this run's work.
     */
    private String freshGroup(String module) {
        // the broker grants each service the consumer groups named after it (prefix), so the module comes first
        String group = module + "-e2e-" + groupSuffix;
        try (Admin admin = Admin.create(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN))) {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (String topic : List.of(Topics.BACKUP_REQUESTED, Topics.BACKUP_EVENTS, Topics.RECOVERY_COMMANDS,
                    Topics.SNAPSHOT_WORKER_REPLIES, Topics.STORAGE_WORKER_REPLIES, Topics.RECOVERY_EVENTS)) {
                admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()
                        .forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
            }
            Map<TopicPartition, OffsetAndMetadata> ends = new HashMap<>();
            admin.listOffsets(latest).all().get().forEach((tp, info) -> ends.put(tp, new OffsetAndMetadata(info.offset())));
            admin.alterConsumerGroupOffsets(group, ends).all().get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot prepare consumer group " + group + ": " + e.getMessage(), e);
        }
        return group;
    }

    private ServiceProcess launch(String module, String name, Path root, int port, Map<String, String> extraEnv)
            throws IOException {
        Map<String, String> env = new HashMap<>(commonEnv);
        env.putAll(extraEnv);
        env.put("KAFKA_GROUP_ID", groups.computeIfAbsent(module, this::freshGroup));
        env.put("LIFEBOAT_DB_NAME", PLATFORM_DB);
        env.put("LIFEBOAT_DB_HOST", stack.pgHost());
        env.put("LIFEBOAT_DB_PORT", String.valueOf(stack.pgPort()));
        env.putAll(stack.kafkaServiceEnvironment(module));
        env.put("S3_ENDPOINT", stack.s3Endpoint());
        env.putIfAbsent("OUTBOX_RELAY_INTERVAL", "200ms");
        if (module.equals("snapshot-worker") || module.equals("storage-worker")) {
            env.put("LIFEBOAT_MASTER_KEY_FILE", masterKeyFile.toString());   // only the workers hold the master key
        }
        if (module.equals("snapshot-worker")) {
            // smaller than in production: the tests start many workers on two cores. With the tests' C1-only JVMs
            // (lifeboat.test.jvm-options) the worker skips it; the benchmarks' JVMs run it
            env.putIfAbsent("LIFEBOAT_SNAPSHOT_WARMUP_BYTES", String.valueOf(8 << 20));
        }
        env.put("ZIPKIN_ENDPOINT", stack.zipkinUrl() + "/api/v2/spans");
        env.putAll(Tokens.serviceEnvironment());
        env.put("LIFEBOAT_SERVICE_TOKEN_FILE", Tokens.serviceTokenFile(module));
        Path jar = root.resolve(module).resolve("target/quarkus-app/quarkus-run.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: package the services first (mvn package)");
        }
        ServiceProcess p = ServiceProcess.start(name, jar, Map.of("quarkus.http.port", String.valueOf(port)), env);
        processes.add(p);
        launches.put(name, new Launch(module, root, port, Map.copyOf(env)));
        return p;
    }

    /**
     * Waits until the instances of {@code module} committed every record on {@code topic} that is there now: nothing
     * earlier is left for them to redeliver, e.g. into an instance about to be started with a crash point.
     */
    void awaitConsumed(String module, String topic, Duration timeout) {
        String group = groups.get(module);
        try (Admin admin = Admin.create(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN))) {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()
                    .forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
            Map<TopicPartition, Long> ends = new HashMap<>();
            admin.listOffsets(latest).all().get().forEach((tp, info) -> ends.put(tp, info.offset()));
            await().atMost(timeout).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                        .partitionsToOffsetAndMetadata().get();
                ends.forEach((tp, end) -> {
                    OffsetAndMetadata at = committed.get(tp);
                    assertThat(at == null ? 0 : at.offset()).as("%s committed on %s", group, tp)
                            .isGreaterThanOrEqualTo(end);
                });
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("cannot read the offsets of " + group + " on " + topic + ": "
                    + e.getMessage(), e);
        }
    }

    /** The running instance called {@code name} (e.g. snapshot-worker-b). */
    ServiceProcess instance(String name) {
        return processes.stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no service instance " + name + " in " + processes));
    }

    /**
     * Starts {@code name} again as it was launched (same port, consumer group and environment) after it was killed,
     * and waits until it is ready: a crashed instance brought back by its supervisor.
     */
    synchronized ServiceProcess restart(String name, Duration ready) {
        return restart(name, ready, Map.of());
    }

    /**
     * As {@link #restart(String, Duration)}, with {@code envChanges} applied to the instance's environment from now on
     * (an empty value removes the variable): e.g. a crash point set for one start, then removed again.
     */
    synchronized ServiceProcess restart(String name, Duration ready, Map<String, String> envChanges) {
        Launch l = launches.get(name);
        if (l == null) {
            throw new IllegalArgumentException("no service instance " + name + " was launched here");
        }
        if (!envChanges.isEmpty()) {
            Map<String, String> env = new HashMap<>(l.env());
            envChanges.forEach((k, v) -> {
                if (v.isEmpty()) {
                    env.remove(k);
                } else {
                    env.put(k, v);
                }
            });
            l = new Launch(l.module(), l.root(), l.port(), Map.copyOf(env));
            launches.put(name, l);
        }
        ServiceProcess old = instance(name);
        if (old.isAlive()) {
            old.kill9();
        }
        Path jar = l.root().resolve(l.module()).resolve("target/quarkus-app/quarkus-run.jar");
        ServiceProcess fresh = ServiceProcess.start(name, jar, Map.of("quarkus.http.port", String.valueOf(l.port())),
                l.env());
        processes.set(processes.indexOf(old), fresh);
        if (scheduler == old) scheduler = fresh;
        if (catalog == old) catalog = fresh;
        if (storage == old) storage = fresh;
        if (storageB == old) storageB = fresh;
        if (snapshotA == old) snapshotA = fresh;
        if (snapshotB == old) snapshotB = fresh;
        if (coordinator == old) coordinator = fresh;
        return fresh.awaitReady(ready);
    }

    String schedulerUrl(String path) {
        return "http://127.0.0.1:" + schedulerPort + path;
    }

    String coordinatorUrl(String path) {
        return "http://127.0.0.1:" + coordinatorPort + path;
    }

    String catalogUrl(String path) {
        return "http://127.0.0.1:" + catalogPort + path;
    }

    /** An admin's call (every role): the tests here are about behaviour; roles are tested by each service's AuthorizationTest. */
    static Response send(String method, String url, Object body) {
        return send(method, url, body, Tokens.admin());
    }

    static Response send(String method, String url, Object body, String token) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20))
                    .header("Accept", "application/json");
            if (token != null) {
                b.header("Authorization", Tokens.bearer(token));
            }
            if (body == null) {
                b.method(method, HttpRequest.BodyPublishers.noBody());
            } else {
                b.header("Content-Type", "application/json")
                        .method(method, HttpRequest.BodyPublishers.ofString(body instanceof String s ? s
                                : JSON.writeValueAsString(body)));
            }
            HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse(""));
        } catch (IOException e) {
            throw new IllegalStateException(method + " " + url + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    record Response(int status, String body, String contentType) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new IllegalStateException("not JSON: " + body, e);
            }
        }
    }

    /**
     * Registers (or replaces) target server {@code name}: the stack's PostgreSQL as its superuser, allowing the
     * databases {@code pattern} matches.
     */
    void registerTarget(String name, String pattern) {
        Response r = send("PUT", coordinatorUrl("/api/v1/targets/" + name), Map.of("host", "127.0.0.1",
                "port", stack.pgPort(), "user", stack.pgSuperUser(), "passwordRef", "env:" + SOURCE_PASSWORD_ENV,
                "databasePattern", pattern));
        if (r.status() != 200 && r.status() != 201) {
            throw new IllegalStateException("registering target " + name + " answered " + r.status() + ": " + r.body());
        }
    }

    /** Registers (or replaces) a PostgreSQL source whose password the snapshot workers read from their environment. */
    void registerSource(String id, String host, int port, String database) {
        Response r = send("PUT", schedulerUrl("/api/v1/sources/" + id), Map.of(
                "name", "e2e " + id, "host", host, "port", port, "database", database,
                "username", stack.pgSuperUser(), "passwordRef", "env:" + SOURCE_PASSWORD_ENV));
        if (r.status() != 200) {
            throw new IllegalStateException("registering source " + id + " answered " + r.status() + ": " + r.body());
        }
    }

    private S3Client s3;

    synchronized S3Client s3() {
        if (s3 == null) {
            s3 = S3Buckets.client();
        }
        return s3;
    }

    /** The catalog entry of {@code backupId} once it reached {@code status}; fails at once if it ended otherwise. */
    JsonNode awaitBackup(String backupId, String status) {
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Platform.Response r = send("GET", catalogUrl("/api/v1/backups/" + backupId), null);
            assertThat(r.status()).as("catalog entry of %s: %s", backupId, r.body()).isEqualTo(200);
            last[0] = r.json();
            String now = last[0].get("status").asText();
            if (!now.equals(status) && (now.equals("COMPLETED") || now.equals("FAILED"))) {
                throw new AssertionError("backup " + backupId + " ended " + now + " instead of " + status + ": " + r.body());
            }
            assertThat(now).as(r.body()).isEqualTo(status);
        });
        return last[0];
    }

    Map<String, TableFingerprint> fingerprints(String database) {
        return TableFingerprint.of(stack.jdbcUrl(database), stack.pgSuperUser(),
                stack.pgSuperPassword());
    }

    /** Restores a backup through the repository (every chunk authenticated) and loads it with pg_restore. */
    void restore(JsonNode entry, String database) throws Exception {
        restore(entry.at("/location/bucket").asText(), entry.at("/location/objectKey").asText(),
                entry.at("/chain/chainId").asText(), entry.get("backupId").asText(), database);
    }

    /** Restores the backup whose manifest is {@code bucket}/{@code manifestKey} (primary or offsite copy). */
    void restore(String bucket, String manifestKey, String chainId, String backupId, String database)
            throws Exception {
        String prefix = manifestKey.substring(0, manifestKey.indexOf("/chains/"));
        Repository repository = Repository.open(new S3ObjectStore(s3(), S3Settings.MIN_PART_SIZE), bucket, prefix,
                masterKey);
        Manifest manifest = repository.manifest(chainId, backupId).orElseThrow();
        Path dir = Files.createTempDirectory("lifeboat-e2e-restore");
        repository.reader().restore(manifest, dir);
        Databases.createDatabase(database);
        ProcessBuilder pb = new ProcessBuilder("pg_restore", "--no-owner", "--jobs=2", "--exit-on-error",
                "--host=127.0.0.1", "--port=" + stack.pgPort(), "--username=" + stack.pgSuperUser(),
                "--dbname=" + database, dir.toString()).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", stack.pgSuperPassword());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("pg_restore: " + out).isZero();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    /** Stops every instance at once: each takes seconds to shut down (a catalog-service about ten), one by one half a minute. */
    @Override
    public void close() {
        List<Thread> stopping = List.copyOf(processes).stream()
                .map(p -> Thread.ofPlatform().name("stop " + p.name()).start(p::stop)).toList();
        for (Thread t : stopping) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
