package dev.lifeboat.scheduler;

import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.scheduler.service.ParkedRecordService;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** Records parked as a worker parks them, their copies read back from the origin topics, and the replay rows. */
final class HeldRecords {
    private HeldRecords() {
    }

    /**
     * The origin topics a replay sends to, where a replay compares a held record with the record at its origin place.
     */
    static final Set<String> REPLAYABLE = Set.of(Topics.BACKUP_REQUESTED, Topics.BACKUP_EVENTS, Topics.RECOVERY_EVENTS);

    /**
     * A BackupRequested published to {@code origin} and parked from there as a worker parks it: on partition
     * {@code partition} of the parking topic (any, when null), held at {@code heldAt}, with {@code requestedBy} padded
     * to {@code size} characters and the header {@code x-test-marker: tag} that finds its copies. The record is first
     * published to {@code origin} when a replay would send there, and parked naming the place it got; an origin that
     * is never replayed gets nothing (a reply topic must stay untouched) and an invented place.
     */
    static RecordMetadata park(String origin, Integer partition, String key, String reason, Instant heldAt, String tag,
                               int size) throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        BackupRequested payload = new BackupRequested(UUID.randomUUID().toString(), key, BackupType.FULL, null,
                "test" + "-".repeat(Math.max(0, size - 4)));
        Headers headers = EventCodec.headers(EventType.BACKUP_REQUESTED, "/test/publisher", key);
        headers.add("x-test-marker", utf8(tag));
        String value = EventCodec.encodeData(payload);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(
                stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), new StringSerializer(), new StringSerializer())) {
            RecordMetadata at = REPLAYABLE.contains(origin)
                    ? producer.send(new ProducerRecord<>(origin, null, key, value, headers)).get()
                    : new RecordMetadata(new TopicPartition(origin, 0), 42, 0, 0, 0, 0);
            return producer.send(new ProducerRecord<>(Topics.PARKED, partition, heldAt.toEpochMilli(), key, value,
                    parkingHeaders(headers, at, reason))).get();
        }
    }

    /** {@code own}, the headers of a record at {@code at}, with those a worker adds when it parks it for {@code reason}. */
    static Headers parkingHeaders(Headers own, RecordMetadata at, String reason) {
        Headers headers = Parking.withoutParkingHeaders(own);
        headers.add(Parking.ORIGIN_TOPIC, utf8(at.topic()));
        headers.add(Parking.ORIGIN_PARTITION, utf8(Integer.toString(at.partition())));
        headers.add(Parking.ORIGIN_OFFSET, utf8(Long.toString(at.offset())));
        headers.add(Parking.REASON, utf8(reason));
        headers.add(Parking.ATTEMPTS, utf8("1"));
        return headers;
    }

    static Map<String, Long> endOffsets(String... topics) {
        Map<String, Long> ends = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = consumer()) {
            for (String topic : topics) {
                List<TopicPartition> tps = consumer.partitionsFor(topic).stream()
                        .map(p -> new TopicPartition(topic, p.partition())).toList();
                consumer.endOffsets(tps).forEach((tp, o) -> ends.put(tp.toString(), o));
            }
        }
        return ends;
    }

    /**
     * Every replay's copy (a record naming where it was replayed from) with the test marker {@code marker} on the
     * origin topics a test replays to since {@code start}; the originals the held records were parked from are not.
     */
    static List<ConsumerRecord<String, String>> replayedSince(Map<String, Long> start, String marker) {
        List<ConsumerRecord<String, String>> found = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = consumer()) {
            List<TopicPartition> tps = new ArrayList<>();
            for (String topic : List.of(Topics.BACKUP_REQUESTED, Topics.RECOVERY_EVENTS)) {
                consumer.partitionsFor(topic).forEach(p -> tps.add(new TopicPartition(topic, p.partition())));
            }
            consumer.assign(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            Map<TopicPartition, Long> remaining = new HashMap<>();
            for (TopicPartition tp : tps) {
                long from = start.getOrDefault(tp.toString(), 0L);
                consumer.seek(tp, from);
                if (end.get(tp) > from) {
                    remaining.put(tp, end.get(tp));
                }
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!remaining.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    if (marker.equals(header(r.headers(), "x-test-marker"))
                            && header(r.headers(), ParkedRecordService.REPLAYED_FROM) != null) {
                        found.add(r);
                    }
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    if (r.offset() + 1 >= remaining.getOrDefault(tp, Long.MAX_VALUE)) {
                        remaining.remove(tp);
                    }
                }
            }
            assertThat(remaining).as("origin topics read to their end").isEmpty();
        }
        return found;
    }

    /** The replay rows of the parked record at {@code held}, oldest first: copy place ("" when none) per row. */
    static List<String> replayRows(RecordMetadata held) throws SQLException {
        try (Connection c = Databases.connect(RealServers.DB); PreparedStatement st = c.prepareStatement(
                "select copy_topic, copy_partition, copy_offset from scheduler.parked_replay where held_topic = ?"
                        + " and held_partition = ? and held_offset = ? order by replayed_at, id")) {
            st.setString(1, held.topic());
            st.setInt(2, held.partition());
            st.setLong(3, held.offset());
            List<String> rows = new ArrayList<>();
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    rows.add(rs.getString(1) == null ? "" : rs.getString(1) + "-" + rs.getInt(2) + "@" + rs.getLong(3));
                }
            }
            return rows;
        }
    }

    /**
     * A claim on the parked record {@code held} as a replay writes it before sending, made {@code age} ago by
     * {@code by}, its copy never recorded: what a scheduler-service that stopped between the claim and the record of
     * the copy leaves behind. {@code origin} null: a claim written before claims named their origin.
     */
    static UUID claimWithoutCopy(RecordMetadata held, String eventId, String origin, String by, Duration age)
            throws SQLException {
        UUID id = UUID.randomUUID();
        try (Connection c = Databases.connect(RealServers.DB); PreparedStatement st = c.prepareStatement(
                "insert into scheduler.parked_replay (id, held_topic, held_partition, held_offset, held_event_id, replayed_at,"
                        + " replayed_by, forced, origin_topic) values (?, ?, ?, ?, ?, now() - ?::interval, ?, false, ?)")) {
            st.setObject(1, id);
            st.setString(2, held.topic());
            st.setInt(3, held.partition());
            st.setLong(4, held.offset());
            st.setString(5, eventId);
            st.setString(6, age.toMillis() + " milliseconds");
            st.setString(7, by);
            st.setString(8, origin);
            st.executeUpdate();
        }
        return id;
    }

    /** The parked record at {@code place} as read back, for its headers. */
    static ConsumerRecord<String, String> read(String topic, int partition, long offset) {
        try (KafkaConsumer<String, String> consumer = consumer()) {
            TopicPartition tp = new TopicPartition(topic, partition);
            consumer.assign(List.of(tp));
            consumer.seek(tp, offset);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.offset() == offset) {
                        return r;
                    }
                }
            }
        }
        throw new AssertionError("no record at " + topic + "-" + partition + "@" + offset + " within 10 s");
    }

    static KafkaConsumer<String, String> consumer() {
        Map<String, Object> config = new HashMap<>(LocalStack.ensureStarted()
                .kafkaClientConfig(LocalStack.KAFKA_ADMIN));
        config.put("enable.auto.commit", "false");
        return new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
    }

    static String header(Headers headers, String key) {
        Header h = headers.lastHeader(key);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** Every value of the header {@code key}, in order. */
    static List<String> values(Headers headers, String key) {
        return java.util.stream.StreamSupport.stream(headers.headers(key).spliterator(), false)
                .map(h -> new String(h.value(), StandardCharsets.UTF_8)).toList();
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
