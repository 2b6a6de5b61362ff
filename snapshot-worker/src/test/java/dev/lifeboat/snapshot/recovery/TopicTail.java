package dev.lifeboat.snapshot.recovery;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Reads a topic from its end at the moment of creation, with a plain KafkaConsumer (no group): the records
 * a test sees are the ones written after it started, however much history the shared topic holds.
 */
public final class TopicTail implements AutoCloseable {
    private final KafkaConsumer<String, String> consumer;
    private final List<ConsumerRecord<String, String>> seen = new ArrayList<>();

    /** {@code kafka}: client configuration of the reading principal (LocalStack.kafkaClientConfig). */
    public TopicTail(Map<String, Object> kafka, String topic) {
        Map<String, Object> config = new java.util.HashMap<>(kafka);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        consumer = new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
        List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                .map(p -> new TopicPartition(topic, p.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        // seekToEnd is lazy: resolve the positions now, before the test writes anything
        partitions.forEach(consumer::position);
    }

    /** The first record since creation that matches, waiting up to {@code timeout}. */
    public ConsumerRecord<String, String> await(Predicate<ConsumerRecord<String, String>> match, Duration timeout) {
        return awaitCount(match, 1, timeout).getFirst();
    }

    /** The first {@code count} records since creation that match, in partition order. */
    public List<ConsumerRecord<String, String>> awaitCount(Predicate<ConsumerRecord<String, String>> match, int count,
                                                    Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        while (true) {
            List<ConsumerRecord<String, String>> found = seen.stream().filter(match).toList();
            if (found.size() >= count) {
                return found.subList(0, count);
            }
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("expected " + count + " matching records within " + timeout + ", saw "
                        + found.size() + " (of " + seen.size() + " records read)");
            }
            consumer.poll(Duration.ofMillis(200)).forEach(seen::add);
        }
    }

    /** Keeps reading for {@code period} (to show that something did not arrive); returns all records read. */
    java.util.stream.Stream<ConsumerRecord<String, String>> readFor(Duration period) {
        Instant end = Instant.now().plus(period);
        while (Instant.now().isBefore(end)) {
            consumer.poll(Duration.ofMillis(200)).forEach(seen::add);
        }
        return seen.stream();
    }

    /** Everything read so far that matches (call after an await that proves later records were read). */
    List<ConsumerRecord<String, String>> seen(Predicate<ConsumerRecord<String, String>> match) {
        return seen.stream().filter(match).toList();
    }

    @Override
    public void close() {
        consumer.close();
    }
}
