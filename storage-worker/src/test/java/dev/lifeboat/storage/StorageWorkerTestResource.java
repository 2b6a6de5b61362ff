package dev.lifeboat.storage;

import dev.lifeboat.contracts.Topics;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

/**
 * Real servers for the component test: Kafka, PostgreSQL and S3Proxy on 127.0.0.1 (test-support's LocalStack
 * starts whichever is absent),
 * a fresh database {@code storage_test}, and a consumer group of this run's own that starts at the current
 * end of lifeboat.backup.events.v1, so the worker under test neither replays the shared topic's history nor
 * misses a record the test writes.
 */
public class StorageWorkerTestResource implements QuarkusTestResourceLifecycleManager {
    static final String DATABASE = "storage_test";
    static final String USER = "lifeboat";
    static final String PASSWORD = "lifeboat";

    @Override
    public Map<String, String> start() {
        LocalStack stack = LocalStack.ensureStarted();
        String group = "storage-worker-test-" + UUID.randomUUID();
        Databases.dropDatabase(DATABASE);
        // owned by the service's own role, as the lifeboat database is: Flyway creates schema "storage" in it
        Databases.execute("postgres", "CREATE DATABASE " + DATABASE + " OWNER " + USER);
        startGroupAtEnd(stack, group, Topics.BACKUP_EVENTS);
        Map<String, String> config = new HashMap<>();
        config.put("quarkus.datasource.jdbc.url", stack.jdbcUrl(DATABASE));
        config.put("quarkus.datasource.username", USER);
        config.put("quarkus.datasource.password", PASSWORD);
        config.putAll(stack.quarkusKafkaConfig("storage-worker"));
        config.put("mp.messaging.incoming.snapshots.group.id", group);
        config.put("lifeboat.object-store.endpoint", stack.s3Endpoint());
        config.put("lifeboat.object-store.region", stack.s3Region());
        config.put("lifeboat.object-store.access-key", stack.s3AccessKey());
        config.put("lifeboat.object-store.secret-key", stack.s3SecretKey());
        config.put("lifeboat.repository.master-key-file", masterKeyFile());
        // the tests write as snapshot-worker would with these defaults: backups without a policy (or whose policy
        // leaves bucket and prefix out) in <repository root>/<sourceId> of the test bucket
        config.put("lifeboat.object-store.default-bucket", StorageWorkerTestBase.BUCKET);
        config.put("lifeboat.snapshot.default-prefix", repositoryRoot());
        config.put("quarkus.rest-client.scheduler.url", FakeScheduler.url());
        config.put("lifeboat.service-auth.token-file", FakeScheduler.tokenFile());
        // a short retry window, so that a test can outlast it
        config.put("lifeboat.retry.window", "4s");
        config.put("lifeboat.retry.initial-backoff", "300ms");
        config.put("lifeboat.retry.max-backoff", "1s");
        // storage jobs: looked at often, and a dead worker's claim runs out within seconds
        config.put("lifeboat.storage.jobs.poll", "200ms");
        config.put("lifeboat.storage.jobs.lease", "3s");
        config.put("lifeboat.storage.jobs.initial-backoff", "500ms");
        config.put("lifeboat.storage.jobs.max-backoff", "2s");
        config.putAll(Tokens.quarkusConfig());
        return config;
    }

    private static String keyFile;

    private static String repositoryRoot;

    /**
     * The repository root of this run ({@code chunked-<uuid>}), as long as its master key ({@link #masterKeyFile}):
     * each start of the application (a test profile restarts it, with a fresh key) writes its own repositories. The
     * test classes of that start see the same one (same class loader).
     */
    static synchronized String repositoryRoot() {
        if (repositoryRoot == null) {
            repositoryRoot = "chunked-" + UUID.randomUUID();
        }
        return repositoryRoot;
    }

    /** A fresh master key (base64 of 32 random bytes) in a temporary file, one per run (JVM). */
    private static synchronized String masterKeyFile() {
        if (keyFile != null) {
            return keyFile;
        }
        try {
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            Path file = Files.createTempFile("lifeboat-test-master-", ".key");
            file.toFile().deleteOnExit();
            Files.writeString(file, Base64.getEncoder().encodeToString(key));
            keyFile = file.toString();
            return keyFile;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void stop() {
        // the servers are shared with other modules' tests; the database is dropped by the next run
    }

    private static void startGroupAtEnd(LocalStack stack, String group, String topic) {
        try (Admin admin = Admin.create(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN))) {
            Map<TopicPartition, OffsetSpec> latest = admin.describeTopics(List.of(topic)).allTopicNames()
                    .get().get(topic).partitions().stream()
                    .collect(Collectors.toMap(p -> new TopicPartition(topic, p.partition()), p -> OffsetSpec.latest()));
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = admin.listOffsets(latest).all().get();
            admin.alterConsumerGroupOffsets(group, ends.entrySet().stream().collect(Collectors.toMap(
                    Map.Entry::getKey, e -> new OffsetAndMetadata(e.getValue().offset())))).all().get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot position consumer group " + group + ": " + e.getCause(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
