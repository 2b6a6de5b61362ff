package dev.lifeboat.scheduler.service;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.rest.ProblemException;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Lists the parked records ({@value Topics#PARKED}: valid work that failed transiently for a whole retry window) and
 * the dead letters ({@value Topics#DLQ}: records a consumer refused), and replays one to the topic it came from,
 * once an administrator fixed the cause. The record goes back as it was (key, value, CloudEvents and trace headers),
 * marked with where it was replayed from; the consumers' idempotency guards make a replay of work that was done
 * meanwhile change nothing. The saga's command topic is not replayed: a late command is refused past its deadline,
 * a new run is the way to redo it.
 */
@ApplicationScoped
public class ParkedRecordService {
    private static final Logger LOG = Logger.getLogger(ParkedRecordService.class);
    public static final String REPLAYED_FROM = "lifeboat-replayed-from";
    public static final String REPLAYED_BY = "lifeboat-replayed-by";
    private static final Set<String> REPLAYABLE = Set.of(Topics.BACKUP_REQUESTED, Topics.BACKUP_EVENTS,
            Topics.RECOVERY_REPLIES, Topics.RECOVERY_EVENTS);

    /** Where a record was held and why, as the list shows it. */
    public record HeldRecord(String topic, int partition, long offset, String key, String originTopic,
                             Integer originPartition, Long originOffset, String reason, Integer attempts,
                             String eventType, String eventId, Instant heldAt, String replayedFrom) {
    }

    /** Where the replayed copy went. */
    public record Replayed(String topic, int partition, long offset, String key, String eventType) {
    }

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    @ConfigProperty(name = "lifeboat.replay.timeout")
    Duration timeout;

    public static String topicOf(String from) {
        return switch (from == null ? "parked" : from) {
            case "parked" -> Topics.PARKED;
            case "dead-letter" -> Topics.DLQ;
            default -> throw new ProblemException(400, "Unknown holding topic",
                    "from must be 'parked' (" + Topics.PARKED + ") or 'dead-letter' (" + Topics.DLQ + "), not '"
                            + from + "'");
        };
    }

    /** The newest {@code limit} records of each partition of the holding topic, oldest first. */
    @WithSpan("ParkedRecordService.list")
    public List<HeldRecord> list(String from, int limit) {
        String topic = topicOf(from);
        List<HeldRecord> held = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = consumer()) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, timeout).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions, timeout);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            Map<TopicPartition, Long> remaining = new HashMap<>();
            for (TopicPartition tp : partitions) {
                long start = Math.max(begin.get(tp), end.get(tp) - limit);
                consumer.seek(tp, start);
                if (end.get(tp) > start) {
                    remaining.put(tp, end.get(tp));
                }
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!remaining.isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new ProblemException(504, "Holding topic not read in time", "reading " + topic + " from "
                            + kafka.get("bootstrap.servers") + " took longer than lifeboat.replay.timeout ("
                            + timeout + "); partitions not read to the end: " + remaining.keySet());
                }
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    held.add(describe(r));
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    if (r.offset() + 1 >= remaining.getOrDefault(tp, Long.MAX_VALUE)) {
                        remaining.remove(tp);
                    }
                }
            }
        }
        held.sort(Comparator.comparing(HeldRecord::heldAt, Comparator.nullsFirst(Comparator.naturalOrder()))
                .thenComparing(HeldRecord::partition).thenComparing(HeldRecord::offset));
        return held;
    }

    /** Sends the held record at {@code partition}/{@code offset} back to its origin topic. */
    @WithSpan("ParkedRecordService.replay")
    public Replayed replay(String from, int partition, long offset, String actor) {
        String topic = topicOf(from);
        ConsumerRecord<String, String> held = read(topic, partition, offset);
        HeldRecord info = describe(held);
        String origin = info.originTopic();
        if (origin == null) {
            throw new ProblemException(422, "Origin unknown", topic + "-" + partition + "@" + offset
                    + " has no origin topic header; it cannot be replayed");
        }
        if (!REPLAYABLE.contains(origin)) {
            throw new ProblemException(422, "Origin not replayable", topic + "-" + partition + "@" + offset
                    + " came from " + origin + ", which is not replayed (replayable: " + REPLAYABLE + ")"
                    + (Topics.RECOVERY_COMMANDS.equals(origin) ? "; start a new run of the plan instead" : ""));
        }
        Headers headers = new RecordHeaders();
        for (Header h : held.headers()) {
            if (!h.key().startsWith("lifeboat-origin-") && !h.key().startsWith("lifeboat-parked-")
                    && !h.key().startsWith("dead-letter-") && !h.key().startsWith("lifeboat-replayed-")) {
                headers.add(h);
            }
        }
        headers.add(REPLAYED_FROM, utf8(topic + "-" + partition + "@" + offset));
        headers.add(REPLAYED_BY, utf8(actor));
        try (KafkaProducer<String, String> producer = producer()) {
            RecordMetadata sent = producer.send(new ProducerRecord<>(origin, null, held.key(), held.value(), headers))
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            LOG.infof("%s replayed %s-%d@%d (%s) to %s-%d@%d", actor, topic, partition, offset, info.eventType(),
                    sent.topic(), sent.partition(), sent.offset());
            return new Replayed(sent.topic(), sent.partition(), sent.offset(), held.key(), info.eventType());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProblemException(503, "Replay interrupted", "replaying to " + origin + " was interrupted");
        } catch (Exception e) {
            throw new ProblemException(503, "Replay failed", "sending " + topic + "-" + partition + "@" + offset
                    + " to " + origin + " on " + kafka.get("bootstrap.servers") + " failed within "
                    + timeout + ": " + e.getMessage());
        }
    }

    private ConsumerRecord<String, String> read(String topic, int partition, long offset) {
        try (KafkaConsumer<String, String> consumer = consumer()) {
            TopicPartition tp = new TopicPartition(topic, partition);
            consumer.assign(List.of(tp));
            long end = consumer.endOffsets(List.of(tp), timeout).getOrDefault(tp, 0L);
            long begin = consumer.beginningOffsets(List.of(tp), timeout).getOrDefault(tp, 0L);
            if (offset < begin || offset >= end) {
                throw new ProblemException(404, "Held record not found", "no record at " + topic + "-" + partition
                        + "@" + offset + " (the partition holds offsets " + begin + " to " + (end - 1) + ")");
            }
            consumer.seek(tp, offset);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.offset() == offset) {
                        return r;
                    }
                    if (r.offset() > offset) {
                        throw new ProblemException(404, "Held record not found", "no record at " + topic + "-"
                                + partition + "@" + offset + " (compacted or a transaction marker)");
                    }
                }
            }
            throw new ProblemException(504, "Held record not read in time", "reading " + topic + "-" + partition
                    + "@" + offset + " took longer than lifeboat.replay.timeout (" + timeout + ")");
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new ProblemException(503, "Kafka unavailable", "reading " + topic + "-" + partition + "@"
                    + offset + " from " + kafka.get("bootstrap.servers") + " failed: " + e.getMessage());
        }
    }

    private static HeldRecord describe(ConsumerRecord<String, String> r) {
        Headers h = r.headers();
        boolean parked = header(h, Parking.ORIGIN_TOPIC) != null;
        String originTopic = parked ? header(h, Parking.ORIGIN_TOPIC) : header(h, "dead-letter-topic");
        String originPartition = parked ? header(h, Parking.ORIGIN_PARTITION) : header(h, "dead-letter-partition");
        String originOffset = parked ? header(h, Parking.ORIGIN_OFFSET) : header(h, "dead-letter-offset");
        String reason = parked ? header(h, Parking.REASON) : header(h, "dead-letter-reason");
        String attempts = header(h, Parking.ATTEMPTS);
        return new HeldRecord(r.topic(), r.partition(), r.offset(), r.key(), originTopic, integer(originPartition),
                originOffset == null ? null : parseLong(originOffset), reason, integer(attempts),
                header(h, EventCodec.H_TYPE), header(h, EventCodec.H_ID), Instant.ofEpochMilli(r.timestamp()),
                header(h, REPLAYED_FROM));
    }

    private KafkaConsumer<String, String> consumer() {
        Map<String, Object> config = new HashMap<>(kafka);
        config.keySet().removeIf(k -> k.startsWith("group.") || k.equals("client.id"));
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        config.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        config.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        return new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
    }

    private KafkaProducer<String, String> producer() {
        Map<String, Object> config = new HashMap<>(kafka);
        config.keySet().removeIf(k -> k.startsWith("group.") || k.equals("client.id"));
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout.toMillis());
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(timeout.toMillis(), 30_000));
        config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    private static String header(Headers headers, String key) {
        Header h = headers.lastHeader(key);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static Integer integer(String s) {
        try {
            return s == null ? null : Integer.valueOf(s.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Long parseLong(String s) {
        try {
            return Long.valueOf(s.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
