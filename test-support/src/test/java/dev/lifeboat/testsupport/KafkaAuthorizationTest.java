package dev.lifeboat.testsupport;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What the local stack's broker lets each principal do: SASL SCRAM is required, and the ACLs of
 * deploy/kafka/acls.conf let the outside publisher write backup requests only and keep the services off each
 * other's topics. Asserts on what reached the topics (read back as admin), not only on the clients' errors.
 */
class KafkaAuthorizationTest {
    static final String REQUESTED = "lifeboat.backup.requested.v1";
    static final String BACKUP_EVENTS = "lifeboat.backup.events.v1";
    static final String COMMANDS = "lifeboat.recovery.commands.v1";
    static final String SNAPSHOT_REPLIES = "lifeboat.recovery.replies.snapshot-worker.v1";
    static final String STORAGE_REPLIES = "lifeboat.recovery.replies.storage-worker.v1";
    static final String RECOVERY_EVENTS = "lifeboat.recovery.events.v1";

    static LocalStack stack;

    @BeforeAll
    static void stack() {
        stack = LocalStack.ensureStarted();
    }

    @Test
    void publisherWritesBackupRequestsAndAdminReadsThemBack() throws Exception {
        assertWritesAndAdminReadsBack(LocalStack.KAFKA_PUBLISHER, REQUESTED);
    }

    @Test
    void publisherIsRefusedOnLifecycleCommandAndReplyTopics() throws Exception {
        for (String topic : List.of(BACKUP_EVENTS, COMMANDS, SNAPSHOT_REPLIES, STORAGE_REPLIES, RECOVERY_EVENTS)) {
            assertRefusedAndNothingArrives(LocalStack.KAFKA_PUBLISHER, topic);
        }
    }

    @Test
    void servicesWriteOnlyWhereTheirCodeProduces() throws Exception {
        assertRefusedAndNothingArrives("catalog-service", BACKUP_EVENTS);
        assertRefusedAndNothingArrives("catalog-service", REQUESTED);
        assertRefusedAndNothingArrives("snapshot-worker", COMMANDS);
        assertRefusedAndNothingArrives("storage-worker", RECOVERY_EVENTS);
        assertRefusedAndNothingArrives("recovery-coordinator", BACKUP_EVENTS);
    }

    @Test
    void eachParticipantAnswersOnlyOnItsOwnReplyTopic() throws Exception {
        assertWritesAndAdminReadsBack("snapshot-worker", SNAPSHOT_REPLIES);
        assertWritesAndAdminReadsBack("storage-worker", STORAGE_REPLIES);
        assertRefusedAndNothingArrives("snapshot-worker", STORAGE_REPLIES);
        assertRefusedAndNothingArrives("storage-worker", SNAPSHOT_REPLIES);
        assertRefusedAndNothingArrives("recovery-coordinator", SNAPSHOT_REPLIES);
        assertRefusedAndNothingArrives("catalog-service", STORAGE_REPLIES);
    }

    @Test
    void aServiceCannotConsumeInAnotherServicesGroup() {
        Map<String, Object> config = stack.kafkaClientConfig("catalog-service");
        config.put("group.id", "storage-worker-" + UUID.randomUUID());
        config.put("auto.offset.reset", "latest");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(BACKUP_EVENTS));
            assertThatThrownBy(() -> {
                long deadline = System.currentTimeMillis() + 30_000;
                while (System.currentTimeMillis() < deadline) {
                    consumer.poll(Duration.ofMillis(500));
                }
            }).isInstanceOf(GroupAuthorizationException.class);
        }
    }

    @Test
    void aClientWithoutSaslGetsNothing() {
        Map<String, Object> plain = new HashMap<>();
        plain.put("bootstrap.servers", stack.kafkaBootstrap());
        plain.put("default.api.timeout.ms", 5_000);
        plain.put("request.timeout.ms", 3_000);
        try (Admin admin = Admin.create(plain)) {
            assertThatThrownBy(() -> admin.listTopics().names().get(10, TimeUnit.SECONDS))
                    .isInstanceOfAny(ExecutionException.class, java.util.concurrent.TimeoutException.class);
        }
    }

    @Test
    void aWrongPasswordIsRefused() {
        Map<String, Object> config = stack.kafkaClientConfig(LocalStack.KAFKA_PUBLISHER);
        config.put("sasl.jaas.config", LocalStack.scramJaasConfig(LocalStack.KAFKA_PUBLISHER, "not-the-password"));
        config.put("default.api.timeout.ms", 10_000);
        config.put("request.timeout.ms", 5_000);
        try (Admin admin = Admin.create(config)) {
            assertThatThrownBy(() -> admin.listTopics().names().get(15, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(SaslAuthenticationException.class);
        }
    }

    /** The principal's write succeeds, and the admin reads the record back where the broker put it. */
    private static void assertWritesAndAdminReadsBack(String principal, String topic) throws Exception {
        String key = "authz-" + principal + "-" + UUID.randomUUID();
        String value = "{\"from\":\"" + principal + "\"}";
        RecordMetadata sent;
        try (KafkaProducer<String, String> producer = producer(stack.kafkaClientConfig(principal))) {
            sent = producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
        }
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN),
                new StringDeserializer(), new StringDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, sent.partition());
            consumer.assign(List.of(tp));
            consumer.seek(tp, sent.offset());
            List<ConsumerRecord<String, String>> read = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 30_000;
            while (read.isEmpty() && System.currentTimeMillis() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(read::add);
            }
            assertThat(read).as("%s's record on %s", principal, topic).isNotEmpty();
            assertThat(read.get(0).key()).isEqualTo(key);
            assertThat(read.get(0).value()).isEqualTo(value);
        }
    }

    /** The principal's write fails with TopicAuthorizationException, and no record with its key reached the topic. */
    private static void assertRefusedAndNothingArrives(String principal, String topic) throws Exception {
        String key = "authz-" + principal + "-" + UUID.randomUUID();
        Map<TopicPartition, Long> before = endOffsets(topic);
        Map<String, Object> config = stack.kafkaClientConfig(principal);
        config.put("max.block.ms", 15_000);
        try (KafkaProducer<String, String> producer = producer(config)) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>(topic, key, "{\"forged\":true}")).get(30, TimeUnit.SECONDS))
                    .as("%s writing %s", principal, topic)
                    .satisfies(e -> assertThat(e instanceof TopicAuthorizationException
                            || e.getCause() instanceof TopicAuthorizationException).as(e.toString()).isTrue());
        }
        Map<TopicPartition, Long> after = endOffsets(topic);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN),
                new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(before.keySet());
            before.forEach(consumer::seek);
            long deadline = System.currentTimeMillis() + 30_000;
            while (before.keySet().stream().anyMatch(tp -> consumer.position(tp) < after.get(tp))
                    && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(300))) {
                    assertThat(r.key()).as("record on %s written by %s", topic, principal).isNotEqualTo(key);
                }
            }
        }
    }

    private static Map<TopicPartition, Long> endOffsets(String topic) throws Exception {
        try (Admin admin = Admin.create(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN))) {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic).partitions()
                    .forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
            Map<TopicPartition, Long> ends = new HashMap<>();
            admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS).forEach((tp, info) -> ends.put(tp, info.offset()));
            return ends;
        }
    }

    private static KafkaProducer<String, String> producer(Map<String, Object> config) {
        config.put("acks", "all");
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }
}
