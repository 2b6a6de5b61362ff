package dev.lifeboat.snapshot.recovery;

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

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import dev.lifeboat.contracts.Topics;
import dev.lifeboat.testsupport.CoordinatorStandIn;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Real Kafka, PostgreSQL and S3Proxy (test-support's LocalStack), a fresh ledger database {@code snapshot_test},
 * consumer groups of this run's own that start at the current end of their topics (the worker neither replays the
 * shared topics' history nor misses what the test writes), a fresh master key, the target password in a file (the
 * commands' passwordRef is {@code file:<that file>}), and a stand-in of recovery-coordinator's target registry with
 * the target server {@link #SERVER} registered: the test PostgreSQL server, databases {@code ^recov_.*}.
 */
public class RecoveryCommandsTestResource implements QuarkusTestResourceLifecycleManager {
    static final String DATABASE = "snapshot_test";
    static final Path SECRET_DIR = Path.of(System.getProperty("java.io.tmpdir"), "lifeboat-snapshot-test-secrets");
    static final Path TARGET_PASSWORD_FILE = SECRET_DIR.resolve("target-password");
    /**
     * A source's database password, which the worker's secret policy may resolve (a source's passwordRef names such
     * a file): the password of the test server's superuser, so that a forged command using it would succeed.
     */
    static final Path SOURCE_PASSWORD_FILE = SECRET_DIR.resolve("source-password");
    /** The target server the commands name, registered in {@link CoordinatorStandIn}. */
    static final String SERVER = "test-targets";

    @Override
    public Map<String, String> start() {
        LocalStack stack = LocalStack.ensureStarted();
        Databases.dropDatabase(DATABASE);
        Databases.execute("postgres", "CREATE DATABASE " + DATABASE + " OWNER lifeboat");
        String run = UUID.randomUUID().toString();
        String requests = "snapshot-worker-test-requests-" + run;
        String commands = "snapshot-worker-test-commands-" + run;
        startGroupAtEnd(stack, requests, Topics.BACKUP_REQUESTED);
        startGroupAtEnd(stack, commands, Topics.RECOVERY_COMMANDS);
        try {
            Files.createDirectories(SECRET_DIR);
            Files.writeString(TARGET_PASSWORD_FILE, stack.pgSuperPassword());
            Files.writeString(SOURCE_PASSWORD_FILE, stack.pgSuperPassword());
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            Path keyFile = Files.createTempFile("lifeboat-test-master-", ".key");
            keyFile.toFile().deleteOnExit();
            Files.writeString(keyFile, Base64.getEncoder().encodeToString(key));
            Map<String, String> config = new HashMap<>();
            config.put("quarkus.datasource.jdbc.url", stack.jdbcUrl(DATABASE));
            config.put("quarkus.datasource.username", "lifeboat");
            config.put("quarkus.datasource.password", "lifeboat");
            config.putAll(stack.quarkusKafkaConfig("snapshot-worker"));
            config.put("mp.messaging.incoming.backup-requests.group.id", requests);
            config.put("mp.messaging.incoming.recovery-commands.group.id", commands);
            config.put("lifeboat.object-store.endpoint", stack.s3Endpoint());
            config.put("lifeboat.object-store.region", stack.s3Region());
            config.put("lifeboat.object-store.access-key", stack.s3AccessKey());
            config.put("lifeboat.object-store.secret-key", stack.s3SecretKey());
            config.put("lifeboat.repository.master-key-file", keyFile.toString());
            config.put("lifeboat.secrets.directories", SECRET_DIR.toString());
            config.put("lifeboat.snapshot.progress-interval", "500ms");
            config.put("lifeboat.retry.window", "1s");
            config.put("lifeboat.retry.initial-backoff", "200ms");
            config.putAll(Tokens.quarkusConfig());
            config.put("lifeboat.service-auth.token-file", Tokens.serviceTokenFile("snapshot-worker"));
            CoordinatorStandIn registry = CoordinatorStandIn.get();
            registry.register(SERVER, "127.0.0.1", stack.pgPort(), "postgres", "file:" + TARGET_PASSWORD_FILE,
                    "^recov_.*");
            config.put("quarkus.rest-client.coordinator.url", registry.url());
            return config;
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
            var ends = admin.listOffsets(latest).all().get();
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
