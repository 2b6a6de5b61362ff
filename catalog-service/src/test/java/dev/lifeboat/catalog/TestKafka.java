package dev.lifeboat.catalog;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.testsupport.LocalStack;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Publishes records the way the platform's producers would, each topic as a principal the broker lets write there
 * (backup requests as the outside publisher, backup lifecycle as storage-worker, recovery lifecycle as
 * recovery-coordinator), and reads a topic from a remembered position (as admin).
 */
final class TestKafka implements AutoCloseable {
    private static final Map<String, String> WRITER = Map.of(
            Topics.BACKUP_REQUESTED, LocalStack.KAFKA_PUBLISHER,
            Topics.BACKUP_EVENTS, "storage-worker",
            Topics.RECOVERY_EVENTS, "recovery-coordinator",
            Topics.WAL_STATUS, "snapshot-worker");
    private final Map<String, KafkaProducer<String, String>> producers = new ConcurrentHashMap<>();

    private KafkaProducer<String, String> producer(String topic) {
        String principal = WRITER.getOrDefault(topic, LocalStack.KAFKA_ADMIN);
        return producers.computeIfAbsent(principal, p -> {
            Map<String, Object> config = CatalogTestResource.kafkaConfig(p);
            config.put(ProducerConfig.ACKS_CONFIG, "all");
            return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
        });
    }

    /** A valid event with a fresh id, time now, keyed by {@code key}, on its type's topic. */
    RecordMetadata publish(String key, Object data) {
        return publish(UUID.randomUUID().toString(), Instant.now(), key, data);
    }

    RecordMetadata publish(String eventId, Instant time, String key, Object data) {
        EventType type = EventType.of(data.getClass());
        Headers headers = EventCodec.headers(eventId, type, "/tests/catalog-service", key, time);
        return send(type.topic(), key, headers, EventCodec.encodeData(data));
    }

    RecordMetadata send(String topic, String key, Headers headers, String value) {
        try {
            return producer(topic).send(new ProducerRecord<>(topic, null, key, value, headers)).get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot publish to " + topic, e);
        }
    }

    /** Where each partition of {@code topic} ends now: read from here to see only what comes later. */
    static Map<TopicPartition, Long> endOffsets(String topic) {
        try (KafkaConsumer<String, String> consumer = consumer()) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            return consumer.endOffsets(partitions, Duration.ofSeconds(30));
        }
    }

    /** Reads from {@code start} until {@code count} records match, or {@code timeout} passes. */
    static List<ConsumerRecord<String, String>> read(Map<TopicPartition, Long> start, Predicate<ConsumerRecord<String, String>> match,
                                                     int count, Duration timeout) {
        List<ConsumerRecord<String, String>> found = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = consumer()) {
            consumer.assign(start.keySet());
            start.forEach(consumer::seek);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (found.size() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    if (match.test(r)) {
                        found.add(r);
                    }
                }
            }
        }
        return found;
    }

    private static KafkaConsumer<String, String> consumer() {
        Map<String, Object> config = CatalogTestResource.kafkaConfig(LocalStack.KAFKA_ADMIN);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
    }

    @Override
    public void close() {
        producers.values().forEach(p -> p.close(Duration.ofSeconds(10)));
    }
}
