package dev.lifeboat.scheduler;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.rest.Problem;
import dev.lifeboat.scheduler.service.CronSchedule;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.matchesPattern;

/**
 * A valid record is not lost to an outage that outlasts the retry window: it is parked apart from the dead letters,
 * listed and replayed by an administrator, and then processed. A cron slot missed while the scheduler or its database
 * was down is fired once afterwards.
 */
@QuarkusTest
@QuarkusTestResource(value = OutageTestServers.class, restrictToAnnotatedClass = true)
class OutageRecoveryTest {
    private static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static void registerSource(String source) {
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("id", source, "name", "Orders", "host", "127.0.0.1", "port", 25432, "database", "orders",
                        "username", "backup", "passwordRef", "env:LIFEBOAT_SECRET_ORDERS_DB_PASSWORD"))
                .post("/api/v1/sources").then().statusCode(201);
    }

    @Test
    void duringADatabaseOutageCallersGetA503WithTheCauseAndAParkedResultCompletesTheBackupWhenReplayed() {
        LocalStack stack = LocalStack.ensureStarted();
        String source = unique("src");
        registerSource(source);
        String backupId = given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", source, "type", "FULL")).post("/api/v1/backups")
                .then().statusCode(202).extract().path("backupId");
        Instant done = Instant.now();
        BackupCompleted completed = new BackupCompleted(backupId, source, null, BackupType.FULL, "lifeboat-backups",
                "k/" + backupId, "m/" + backupId, 1000, 2000, "ab".repeat(32), done.minusSeconds(5), done, 5_000,
                null, null);
        String eventId = Ids.eventId(backupId, EventType.BACKUP_COMPLETED);

        stack.stopServer("postgres");
        try {
            // a client calling while the database is away is told why and when to come back, not a bare 500
            for (var call : List.<java.util.function.Supplier<io.restassured.response.Response>>of(
                    () -> given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                            .body(Map.of("sourceId", source, "type", "FULL")).post("/api/v1/backups"),
                    () -> given().auth().oauth2(Tokens.admin()).get("/api/v1/sources/" + source))) {
                call.get().then().statusCode(503).contentType(Problem.MEDIA_TYPE)
                        .header("Retry-After", matchesPattern("[1-9][0-9]*"))
                        .body("status", equalTo(503))
                        .body("detail", containsString("scheduler-service's database is unavailable"))
                        .body("detail", containsString(":" + stack.pgPort()))
                        .body("detail", containsString("retry later"));
            }
            publish(completed, eventId);
            await().atMost(Duration.ofSeconds(60)).until(() -> held(Topics.PARKED, eventId).isPresent());
            // what is parked is listed during the outage too; whether it was replayed is said to be unknown
            given().auth().oauth2(Tokens.viewer()).queryParam("from", "parked").queryParam("limit", 1000)
                    .get("/api/v1/admin/parked").then().statusCode(200)
                    .body("find { it.eventId == '" + eventId + "' }.originTopic", equalTo(Topics.BACKUP_EVENTS))
                    .body("find { it.eventId == '" + eventId + "' }.replayUnknown",
                            containsString("scheduler-service's database, which remembers replays, did not answer"));
        } finally {
            stack.startServer("postgres");
        }
        ConsumerRecord<String, String> parked = held(Topics.PARKED, eventId).orElseThrow();
        assertThat(header(parked.headers(), Parking.ORIGIN_TOPIC)).isEqualTo(Topics.BACKUP_EVENTS);
        assertThat(header(parked.headers(), Parking.REASON)).contains("retry window");
        assertThat(Integer.parseInt(header(parked.headers(), Parking.ATTEMPTS))).isGreaterThan(1);
        assertThat(held(Topics.DLQ, eventId)).as("a valid record is never dead-lettered").isEmpty();

        // the administrator lists what is parked, and replays it once the database is back
        given().auth().oauth2(Tokens.admin()).queryParam("from", "parked").get("/api/v1/admin/parked")
                .then().statusCode(200)
                .body("find { it.eventId == '" + eventId + "' }.originTopic", equalTo(Topics.BACKUP_EVENTS))
                .body("find { it.eventId == '" + eventId + "' }.offset", equalTo((int) parked.offset()));
        given().auth().oauth2(Tokens.viewer()).contentType(ContentType.JSON)
                .body(Map.of("from", "parked", "partition", parked.partition(), "offset", parked.offset()))
                .post("/api/v1/admin/parked/replay").then().statusCode(403);
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("from", "parked", "partition", parked.partition(), "offset", parked.offset()))
                .post("/api/v1/admin/parked/replay").then().statusCode(200)
                .body("topic", equalTo(Topics.BACKUP_EVENTS))
                .body("eventType", equalTo(EventType.BACKUP_COMPLETED.ceType()));

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> given().auth().oauth2(Tokens.admin())
                .get("/api/v1/backups/" + backupId).then().statusCode(200).body("status", equalTo("COMPLETED")));
        assertThat(held(Topics.DLQ, eventId)).isEmpty();
    }

    @Test
    void cronSlotsMissedDuringADowntimeAreFiredOnceNotOncePerSlot() throws Exception {
        String source = unique("src");
        registerSource(source);
        String policy = unique("nightly");
        String schedule = "0 3 * * *";
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("id", policy, "sourceId", source, "type", "FULL", "schedule", schedule,
                        "retention", Map.of("daily", 7, "weekly", 0, "monthly", 0)))
                .post("/api/v1/policies").then().statusCode(201);
        // as if the policy was created three days ago and the scheduler was down since: three nightly slots missed
        Databases.execute(RealServers.DB, "update scheduler.policy set created_at = now() - interval '3 days', "
                + "last_fire_at = null where id = '" + policy + "'");
        Instant latestSlot = CronSchedule.latestBefore(schedule, Instant.now()).orElseThrow();
        String expectedBackup = Ids.backupIdForSchedule(policy, latestSlot);

        await().atMost(Duration.ofSeconds(30)).until(() -> requestsOf(policy).size() == 1);
        Thread.sleep(3_000); // three more catch-up passes
        assertThat(requestsOf(policy)).containsExactly(expectedBackup);
        try (Connection c = Databases.connect(RealServers.DB);
             PreparedStatement ps = c.prepareStatement("select last_fire_at from scheduler.policy where id = ?")) {
            ps.setString(1, policy);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getTimestamp(1).toInstant()).isEqualTo(latestSlot);
            }
        }
    }

    private static List<String> requestsOf(String policy) throws Exception {
        List<String> ids = new ArrayList<>();
        try (Connection c = Databases.connect(RealServers.DB);
             PreparedStatement ps = c.prepareStatement(
                     "select backup_id from scheduler.backup_request where policy_id = ? order by requested_at")) {
            ps.setString(1, policy);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getString(1));
                }
            }
        }
        return ids;
    }

    /** Publishes as storage-worker does. */
    private static void publish(BackupCompleted c, String eventId) {
        Map<String, Object> config = new HashMap<>(LocalStack.ensureStarted().kafkaClientConfig("storage-worker"));
        config.put("acks", "all");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config, new StringSerializer(),
                new StringSerializer())) {
            Headers headers = EventCodec.headers(eventId, EventType.BACKUP_COMPLETED, "/test/storage-worker",
                    c.backupId(), c.completedAt());
            producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, c.sourceId(), EventCodec.encodeData(c),
                    headers));
            producer.flush();
        }
    }

    /** The record of the event on a holding topic, read from the beginning as the broker's admin. */
    private static Optional<ConsumerRecord<String, String>> held(String topic, String eventId) {
        Map<String, Object> config = new HashMap<>(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN));
        config.put("enable.auto.commit", "false");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config, new StringDeserializer(),
                new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (System.nanoTime() < deadline && partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    if (eventId.equals(header(r.headers(), EventCodec.H_ID))) {
                        return Optional.of(r);
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static String header(Headers headers, String key) {
        Header h = headers.lastHeader(key);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
