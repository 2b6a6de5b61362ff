package dev.lifeboat.scheduler;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The outbox relay against real Kafka and PostgreSQL: a row Kafka can never take, queued ahead of a request, is set
 * aside with the reason and the request behind it still goes out; a row of a type this version does not know is left.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true)
class OutboxRelayTest {
    @Inject
    MeterRegistry registry;

    @Test
    void aRowKafkaCanNeverTakeIsSetAsideWithTheReasonAndTheRowsBehindItAreSent() throws Exception {
        double before = unsendable(EventType.BACKUP_REQUESTED.ceType());
        // larger than a Kafka record may be (1 MiB by default), and a row of a type this version does not know (a
        // newer instance's); both older than anything else in the outbox, so the relay meets them first
        UUID tooLarge = outboxRow(EventType.BACKUP_REQUESTED.ceType(), "{\"pad\": \"" + "x".repeat(1_200_000) + "\"}");
        UUID unknown = outboxRow("dev.lifeboat.unknown.v9", "{}");

        String src = "outbox-" + UUID.randomUUID().toString().substring(0, 8);
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("id", src, "name", "Outbox", "host", "127.0.0.1", "port", 25432, "database", "orders",
                        "username", "backup", "passwordRef", "env:LIFEBOAT_SECRET_ORDERS_DB_PASSWORD"))
                .post("/api/v1/sources").then().statusCode(201);
        String backupId = given().auth().oauth2(Tokens.operator()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "type", "FULL")).post("/api/v1/backups")
                .then().statusCode(202).extract().path("backupId");

        assertThat(awaitRequestOf(src, Duration.ofSeconds(60))).contains(backupId);
        Map<String, String> large = rowState(tooLarge);
        assertThat(large.get("sent")).isNull();
        assertThat(large.get("failed")).isNotNull();
        assertThat(large.get("failure")).contains("RecordTooLargeException");
        assertThat(unsendable(EventType.BACKUP_REQUESTED.ceType())).isEqualTo(before + 1);
        Map<String, String> unknownType = rowState(unknown);
        assertThat(unknownType.get("sent")).as("left for an instance that knows its type").isNull();
        assertThat(unknownType.get("failed")).isNull();
        assertThat(unknownType.get("failure")).isNull();
        // the gauge the alert reads (counted every lifeboat.outbox.set-aside-count-interval, 1s here)
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                registry.find("lifeboat_outbox_set_aside_rows").gauge().value()).isGreaterThanOrEqualTo(1));
    }

    private double unsendable(String type) {
        var counter = registry.find("lifeboat_outbox_unsendable_total").tag("type", type).counter();
        return counter == null ? 0 : counter.count();
    }

    private static UUID outboxRow(String type, String payload) throws SQLException {
        UUID id = UUID.randomUUID();
        try (Connection c = Databases.connect(RealServers.DB);
             PreparedStatement ps = c.prepareStatement("insert into scheduler.outbox (id, topic, message_key, "
                     + "event_type, payload, created_at) values (?, ?, ?, ?, ?, now() - interval '1 hour')")) {
            ps.setObject(1, id);
            ps.setString(2, Topics.BACKUP_REQUESTED);
            ps.setString(3, "poison-" + id);
            ps.setString(4, type);
            ps.setString(5, payload);
            ps.executeUpdate();
        }
        return id;
    }

    private static Map<String, String> rowState(UUID id) throws SQLException {
        try (Connection c = Databases.connect(RealServers.DB);
             PreparedStatement ps = c.prepareStatement("select sent_at::text, failed_at::text, failure "
                     + "from scheduler.outbox where id = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                java.util.HashMap<String, String> state = new java.util.HashMap<>();
                state.put("sent", rs.getString(1));
                state.put("failed", rs.getString(2));
                state.put("failure", rs.getString(3));
                return state;
            }
        }
    }

    /** The backup ids of the source's BackupRequested records, once there is one; fails after {@code wait}. */
    private static List<String> awaitRequestOf(String src, Duration wait) throws InterruptedException {
        Map<String, Object> config = LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN);
        long deadline = System.currentTimeMillis() + wait.toMillis();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config, new StringDeserializer(),
                new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.BACKUP_REQUESTED).stream()
                    .map(p -> new TopicPartition(Topics.BACKUP_REQUESTED, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    if (src.equals(r.key())) {
                        var event = EventCodec.decode(r.headers(), r.value());
                        return List.of(((dev.lifeboat.contracts.BackupRequested) event.data()).backupId());
                    }
                }
            }
        }
        throw new AssertionError("no BackupRequested of " + src + " within " + wait);
    }
}
