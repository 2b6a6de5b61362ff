package dev.lifeboat.scheduler;

import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.scheduler.service.ParkedRecordService;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A replay is republished under scheduler-service's own Kafka principal, so the replayed record names the
 * administrator who asked for it (the token's principal) and where it was held. Real Kafka and PostgreSQL.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true)
class ParkedRecordReplayTest {

    @Test
    void replayedDeadLetterNamesTheAdministratorWhoReplayedIt() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        String backupId = UUID.randomUUID().toString();
        BackupRequested request = new BackupRequested(backupId, "replay-src", BackupType.FULL, null, "test");
        Headers own = EventCodec.headers(EventType.BACKUP_REQUESTED, "/test/publisher", "replay-src");
        RecordMetadata held;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(
                stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), new StringSerializer(), new StringSerializer())) {
            // the request as published, then its dead letter as the dead-letter queue writes it: its own headers
            // first, then the record's
            RecordMetadata origin = producer.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, "replay-src",
                    EventCodec.encodeData(request), own)).get();
            Headers headers = new RecordHeaders();
            headers.add("dead-letter-reason", HeldRecords.utf8("source 'replay-src' was not registered yet"));
            headers.add("dead-letter-topic", HeldRecords.utf8(origin.topic()));
            headers.add("dead-letter-partition", HeldRecords.utf8(Integer.toString(origin.partition())));
            headers.add("dead-letter-offset", HeldRecords.utf8(Long.toString(origin.offset())));
            own.forEach(headers::add);
            // a forged audit header on the held record does not survive the replay
            headers.add(ParkedRecordService.REPLAYED_BY, HeldRecords.utf8("someone-else"));
            held = producer.send(new ProducerRecord<>(Topics.DLQ, null, "replay-src", EventCodec.encodeData(request),
                    headers)).get();
        }

        JsonPath replayed = given().auth().oauth2(Tokens.mint("admin-carol", Roles.ADMIN)).contentType(ContentType.JSON)
                .body(Map.of("from", "dead-letter", "partition", held.partition(), "offset", held.offset()))
                .post("/api/v1/admin/parked/replay").then().statusCode(200).extract().jsonPath();

        assertThat(replayed.getString("topic")).isEqualTo(Topics.BACKUP_REQUESTED);
        ConsumerRecord<String, String> copy = HeldRecords.read(replayed.getString("topic"), replayed.getInt("partition"),
                replayed.getLong("offset"));
        assertThat(copy.value()).contains(backupId);
        assertThat(HeldRecords.values(copy.headers(), ParkedRecordService.REPLAYED_BY)).containsExactly("admin-carol");
        assertThat(HeldRecords.values(copy.headers(), ParkedRecordService.REPLAYED_FROM))
                .containsExactly(Topics.DLQ + "-" + held.partition() + "@" + held.offset());
        assertThat(HeldRecords.values(copy.headers(), "dead-letter-reason")).isEmpty();
        assertThat(HeldRecords.values(copy.headers(), EventCodec.H_ID))
                .containsExactly(HeldRecords.header(own, EventCodec.H_ID));
    }

    /**
     * A dead letter written by the real dead-letter path (scheduler-service's own consumer refuses a completion that
     * fails its schema) is the record at its origin: its replay compares equal and goes out as it was.
     */
    @Test
    void aDeadLetterOfTheRealDeadLetterPathIsTheRecordAtItsOriginAndIsReplayed() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        String key = "refused-" + UUID.randomUUID();
        Headers headers = EventCodec.headers(EventType.BACKUP_COMPLETED, "/test/storage-worker", key);
        RecordMetadata origin;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(stack.kafkaClientConfig("storage-worker"),
                new StringSerializer(), new StringSerializer())) {
            origin = producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, key, "{\"backupId\":\"nope\"}",
                    headers)).get();
        }
        String admin = Tokens.mint("admin-finn", Roles.ADMIN);
        JsonPath listed = org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> given()
                        .auth().oauth2(admin).queryParam("from", "dead-letter").queryParam("limit", 1000)
                        .get("/api/v1/admin/parked").then().statusCode(200).extract().jsonPath(),
                l -> l.getList("findAll { it.key == '" + key + "' }").size() == 1);
        Map<String, Object> held = listed.getMap("find { it.key == '" + key + "' }");
        assertThat(((Number) held.get("originOffset")).longValue()).isEqualTo(origin.offset());

        JsonPath replayed = given().auth().oauth2(admin).contentType(ContentType.JSON)
                .body(Map.of("from", "dead-letter", "partition", held.get("partition"), "offset", held.get("offset")))
                .post("/api/v1/admin/parked/replay").then().statusCode(200).extract().jsonPath();
        ConsumerRecord<String, String> copy = HeldRecords.read(replayed.getString("topic"), replayed.getInt("partition"),
                replayed.getLong("offset"));
        ConsumerRecord<String, String> original = HeldRecords.read(origin.topic(), origin.partition(), origin.offset());
        assertThat(copy.key()).isEqualTo(original.key());
        assertThat(copy.value()).isEqualTo(original.value());
        for (String name : List.of(EventCodec.H_ID, EventCodec.H_TYPE, EventCodec.H_SOURCE, EventCodec.H_TIME)) {
            assertThat(HeldRecords.values(copy.headers(), name)).as(name)
                    .isEqualTo(HeldRecords.values(original.headers(), name));
        }
    }

    /**
     * A dead letter carries the headers of the record as it was published after the dead-letter queue's own, so a
     * publisher could name an origin of its choosing (here a topic it may not write) for an administrator's replay to
     * publish its record there under scheduler-service's principal. The record goes through the real dead-letter
     * path: scheduler-service's own consumer refuses it.
     */
    @Test
    void aDeadLetterWhosePublisherNamedAnOriginOfItsOwnIsNeverReplayed() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        String key = "forged-" + UUID.randomUUID();
        Headers headers = EventCodec.headers(EventType.BACKUP_COMPLETED, "/test/forger", key);
        headers.add("dead-letter-topic", HeldRecords.utf8(Topics.BACKUP_REQUESTED));
        headers.add("dead-letter-reason", HeldRecords.utf8("Connection refused " + key));
        java.time.Instant before = java.time.Instant.now().minusSeconds(1);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(stack.kafkaClientConfig("storage-worker"),
                new StringSerializer(), new StringSerializer())) {
            // fails BackupCompleted's schema: scheduler-service dead-letters it
            producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, key, "{\"backupId\":\"nope\"}", headers))
                    .get();
        }
        String admin = Tokens.mint("admin-erin", Roles.ADMIN);
        JsonPath listed = org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> given()
                .auth().oauth2(admin).queryParam("from", "dead-letter").queryParam("limit", 1000)
                .get("/api/v1/admin/parked").then().statusCode(200).extract().jsonPath(),
                l -> l.getList("findAll { it.key == '" + key + "' }").size() == 1);
        Map<String, Object> held = listed.getMap("find { it.key == '" + key + "' }");
        assertThat((String) held.get("originProblem")).contains("carries 2 'dead-letter-topic' headers")
                .contains("not replayed");

        given().auth().oauth2(admin).contentType(ContentType.JSON)
                .body(Map.of("from", "dead-letter", "partition", held.get("partition"), "offset", held.get("offset")))
                .post("/api/v1/admin/parked/replay").then().statusCode(422)
                .body("title", org.hamcrest.Matchers.equalTo("Origin not trusted"));
        JsonPath bulk = given().auth().oauth2(admin).contentType(ContentType.JSON)
                .body(Map.of("from", "dead-letter", "heldAfter", before.toString(), "reasonContains", key,
                        "dryRun", false))
                .post("/api/v1/admin/parked/replay-all").then().statusCode(200).extract().jsonPath();
        assertThat(bulk.getList("replayed")).isEmpty();
        assertThat(bulk.getList("skipped.code", String.class)).containsExactly("ORIGIN_FORGED");
    }
}
