package dev.lifeboat.catalog;

import dev.lifeboat.contracts.Topics;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * The catalog under test runs against the real Kafka and PostgreSQL (started by {@link LocalStack} when they are not
 * running): a fresh database {@code catalog_test}, dropped afterwards, and a consumer group of its own that starts at
 * the topics' current end, so neither earlier runs nor other services' records reach it.
 */
public class CatalogTestResource implements QuarkusTestResourceLifecycleManager {
    static final String DATABASE = "catalog_test";
    static final String APP_USER = "lifeboat";

    @Override
    public Map<String, String> start() {
        LocalStack stack = LocalStack.ensureStarted();
        Databases.dropDatabase(DATABASE);
        Databases.execute("postgres", "create database " + DATABASE + " owner " + APP_USER);
        String group = "catalog-service-test-" + UUID.randomUUID();
        startGroupAtEnd(stack, group, List.of(Topics.BACKUP_REQUESTED, Topics.BACKUP_EVENTS,
                Topics.RECOVERY_EVENTS, Topics.WAL_STATUS));

        Map<String, String> config = new HashMap<>();
        config.putAll(stack.quarkusKafkaConfig("catalog-service"));
        config.put("quarkus.datasource.username", APP_USER);
        config.put("quarkus.datasource.password", "lifeboat");
        config.put("quarkus.datasource.jdbc.url", stack.jdbcUrl(DATABASE));
        config.put("quarkus.datasource.reactive.url",
                "postgresql://" + stack.pgHost() + ":" + stack.pgPort() + "/" + DATABASE);
        config.put("mp.messaging.incoming.backup-requests.group.id", group);
        config.put("mp.messaging.incoming.backup-events.group.id", group);
        config.put("mp.messaging.incoming.recovery-events.group.id", group);
        config.put("mp.messaging.incoming.wal-status.group.id", group);
        // short backoff: the retry test should not wait long once the database accepts writes again
        config.put("lifeboat.retry.initial-backoff", "200ms");
        config.put("lifeboat.retry.max-backoff", "1s");
        // progress streams: a heartbeat comment a test can wait for
        config.put("lifeboat.catalog.progress.heartbeat", "2s");
        // window gauges: an archiver's report within this of the last refresh leaves them (RecoveryWindowTest)
        config.put("lifeboat.catalog.window-gauges.refresh", "10m");
        config.putAll(Tokens.quarkusConfig());
        config.put("lifeboat.service-auth.token-file", Tokens.serviceTokenFile("catalog-service"));
        return config;
    }

    @Override
    public void stop() {
        Databases.dropDatabase(DATABASE);
    }

    /** Client configuration of a Kafka principal (test set-up and reading use admin). */
    static Map<String, Object> kafkaConfig(String principal) {
        return LocalStack.ensureStarted().kafkaClientConfig(principal);
    }

    /** Commits the group's offsets at the end of every partition of those topics that exist. */
    private static void startGroupAtEnd(LocalStack stack, String group, List<String> topics) {
        try (Admin admin = Admin.create(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN))) {
            Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
            List<String> present = topics.stream().filter(existing::contains).toList();
            if (present.isEmpty()) {
                return;
            }
            Map<String, TopicDescription> described = admin.describeTopics(present).allTopicNames()
                    .get(60, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> latest = described.values().stream()
                    .flatMap(d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
                    .collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest()));
            Map<TopicPartition, OffsetAndMetadata> ends = admin.listOffsets(latest).all().get(60, TimeUnit.SECONDS)
                    .entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> new OffsetAndMetadata(e.getValue().offset())));
            admin.alterConsumerGroupOffsets(group, ends).all().get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot position consumer group " + group + " on " + stack.kafkaBootstrap(), e);
        }
    }
}
