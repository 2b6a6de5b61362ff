package dev.lifeboat.scheduler;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.scheduler.service.ParkedRecordService;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.ValidatableResponse;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static dev.lifeboat.scheduler.HeldRecords.header;
import static dev.lifeboat.scheduler.HeldRecords.parkingHeaders;
import static dev.lifeboat.scheduler.HeldRecords.utf8;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/**
 * Every principal may write the parking topic, so a holder of any service's Kafka credentials can park a record of its
 * own invention naming a replayable origin: replayed, it would go out under scheduler-service's principal, which may
 * write there. A replay sends a held record only when it is the record at the origin place it names. Real Kafka and
 * PostgreSQL; the forged records are written with catalog-service's credentials, the genuine ones by the principals
 * that publish and park them.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true)
class ParkedRecordOriginTest {
    private static final String REPLAY = "/api/v1/admin/parked/replay";

    @Test
    void aParkedRecordThatIsNotTheRecordAtItsOriginIsRefusedAloneAndSkippedInBulkAndAGenuineOneIsReplayed()
            throws Exception {
        String marker = "catalog database away " + UUID.randomUUID();
        Map<String, Long> start = HeldRecords.endOffsets(Topics.RECOVERY_EVENTS);
        Instant now = Instant.now();
        // a run's failure as the coordinator published it, parked by catalog-service while its database was away
        String runId = UUID.randomUUID().toString();
        Headers own = event(runId, marker);
        String failed = finished(runId, "FAILED");
        RecordMetadata genuineAt = publish("recovery-coordinator", Topics.RECOVERY_EVENTS, runId, failed, own);
        RecordMetadata genuine = park(runId, failed, parkingHeaders(own, genuineAt, marker), now.minusSeconds(60));
        // another run's event, really on the topic
        String otherRun = UUID.randomUUID().toString();
        RecordMetadata otherAt = publish("recovery-coordinator", Topics.RECOVERY_EVENTS, otherRun,
                finished(otherRun, "SUCCEEDED"), event(otherRun, marker));

        // forged with catalog-service's credentials: the run's success, naming the other record's place
        String succeeded = finished(runId, "SUCCEEDED");
        RecordMetadata atOther = park(runId, succeeded, parkingHeaders(event(runId, marker), otherAt, marker),
                now.minusSeconds(50));
        // naming a place the topic never had
        TopicPartition tp = new TopicPartition(Topics.RECOVERY_EVENTS, genuineAt.partition());
        RecordMetadata pastEnd = park(runId, succeeded, parkingHeaders(event(runId, marker),
                new RecordMetadata(tp, genuineAt.offset() + 1000, 0, 0, 0, 0), marker), now.minusSeconds(40));
        // the genuine record's key and value at its real place, under an event id of the forger's choosing (the
        // consumers' idempotency key)
        Headers anotherId = EventCodec.headers(UUID.randomUUID().toString(), EventType.RECOVERY_FINISHED,
                "/recovery-coordinator", runId, Instant.parse(header(own, EventCodec.H_TIME)));
        anotherId.add("x-test-marker", utf8(marker));
        RecordMetadata reIded = park(runId, failed, parkingHeaders(anotherId, genuineAt, marker), now.minusSeconds(30));
        // no offset, and an offset that is not a number
        Headers noOffset = parkingHeaders(event(runId, marker), genuineAt, marker);
        noOffset.remove(Parking.ORIGIN_OFFSET);
        RecordMetadata withoutOffset = park(runId, succeeded, noOffset, now.minusSeconds(20));
        Headers wordOffset = parkingHeaders(event(runId, marker), genuineAt, marker);
        wordOffset.remove(Parking.ORIGIN_OFFSET);
        wordOffset.add(Parking.ORIGIN_OFFSET, utf8("forty-two"));
        RecordMetadata malformed = park(runId, succeeded, wordOffset, now.minusSeconds(10));
        Map<String, Long> before = HeldRecords.endOffsets(Topics.RECOVERY_EVENTS);

        String admin = Tokens.mint("admin-quin", Roles.ADMIN);
        replay(admin, atOther, false).statusCode(422).body("title", equalTo("Not the record at its origin"))
                .body("detail", containsString("is not the record at its origin " + Topics.RECOVERY_EVENTS + "-"
                        + otherAt.partition() + "@" + otherAt.offset()))
                .body("detail", containsString("forged or altered")).body("detail", containsString("not replayed"));
        // force replays a record again, never one that is not the record at its origin
        replay(admin, atOther, true).statusCode(422).body("title", equalTo("Not the record at its origin"));
        replay(admin, pastEnd, false).statusCode(422).body("title", equalTo("Origin record not found"))
                .body("detail", containsString("no record was ever there"));
        replay(admin, reIded, false).statusCode(422).body("title", equalTo("Not the record at its origin"))
                .body("detail", containsString("(header ce_id differ)"));
        replay(admin, withoutOffset, false).statusCode(422).body("title", equalTo("Origin place invalid"))
                .body("detail", containsString(Parking.ORIGIN_OFFSET + " missing"));
        replay(admin, malformed, false).statusCode(422).body("title", equalTo("Origin place invalid"))
                .body("detail", containsString("'forty-two' is not a partition or offset"));

        // a dry run lists only the genuine record as one that would go, and says why the others would not
        JsonPath dry = replayAll(admin, Map.of("reasonContains", marker));
        assertThat(dry.getList("replayed.held.offset", Long.class)).containsExactly(genuine.offset());
        assertThat(dry.getList("skipped.code", String.class)).containsExactly("ORIGIN_DIFFERS", "ORIGIN_NOT_FOUND",
                "ORIGIN_DIFFERS", "ORIGIN_PLACE_INVALID", "ORIGIN_PLACE_INVALID");
        assertThat(dry.getList("skipped.held.offset", Long.class)).containsExactly(atOther.offset(), pastEnd.offset(),
                reIded.offset(), withoutOffset.offset(), malformed.offset());
        assertThat(HeldRecords.endOffsets(Topics.RECOVERY_EVENTS)).as("nothing sent to " + Topics.RECOVERY_EVENTS)
                .isEqualTo(before);

        // the bulk replay sends the genuine record and skips the forged ones, the batch going on past them
        JsonPath bulk = replayAll(admin, Map.of("reasonContains", marker, "dryRun", false));
        assertThat(bulk.getBoolean("complete")).isTrue();
        assertThat(bulk.getList("replayed.held.offset", Long.class)).containsExactly(genuine.offset());
        assertThat(bulk.getList("skipped.code", String.class)).containsExactly("ORIGIN_DIFFERS", "ORIGIN_NOT_FOUND",
                "ORIGIN_DIFFERS", "ORIGIN_PLACE_INVALID", "ORIGIN_PLACE_INVALID");
        assertThat(bulk.getString("skipped[0].reason")).contains("forged or altered");
        assertThat(bulk.getInt("remaining")).isZero();

        // exactly one record reached the origin topic since: the genuine one, as the coordinator published it
        Map<String, Long> after = HeldRecords.endOffsets(Topics.RECOVERY_EVENTS);
        long sent = after.entrySet().stream().mapToLong(e -> e.getValue() - before.get(e.getKey())).sum();
        assertThat(sent).isEqualTo(1);
        List<ConsumerRecord<String, String>> copies = HeldRecords.replayedSince(start, marker);
        assertThat(copies).singleElement().satisfies(c -> {
            assertThat(c.value()).isEqualTo(failed);
            assertThat(header(c.headers(), EventCodec.H_ID)).isEqualTo(header(own, EventCodec.H_ID));
            assertThat(header(c.headers(), ParkedRecordService.REPLAYED_FROM))
                    .isEqualTo(Topics.PARKED + "-" + genuine.partition() + "@" + genuine.offset());
            assertThat(header(c.headers(), ParkedRecordService.REPLAYED_BY)).isEqualTo("admin-quin");
        });
    }

    @Test
    void aParkedRecordWhoseOriginRecordRetentionDeletedIsRefusedAsGoneAndCanOnlyBeRepublishedByHand()
            throws Exception {
        String marker = "held past retention " + UUID.randomUUID();
        String runId = UUID.randomUUID().toString();
        Headers own = event(runId, marker);
        String value = finished(runId, "FAILED");
        RecordMetadata originAt;
        try (KafkaProducer<String, String> producer = producer("recovery-coordinator")) {
            originAt = producer.send(new ProducerRecord<>(Topics.RECOVERY_EVENTS, 3, runId, value, own))
                    .get(30, TimeUnit.SECONDS);
        }
        RecordMetadata held = park(runId, value, parkingHeaders(own, originAt, marker), Instant.now());
        // retention takes the origin record off its topic; the parked copy stays
        try (Admin admin = Admin.create(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN))) {
            admin.deleteRecords(Map.of(new TopicPartition(Topics.RECOVERY_EVENTS, 3),
                    RecordsToDelete.beforeOffset(originAt.offset() + 1))).all().get(30, TimeUnit.SECONDS);
        }
        Map<String, Long> before = HeldRecords.endOffsets(Topics.RECOVERY_EVENTS);

        String admin = Tokens.mint("admin-rio", Roles.ADMIN);
        replay(admin, held, false).statusCode(422).body("title", equalTo("Origin record gone"))
                .body("detail", containsString(Topics.RECOVERY_EVENTS + "-3 now starts at offset "
                        + (originAt.offset() + 1)))
                .body("detail", containsString("retention deleted it"))
                .body("detail", containsString("republish it by hand"));
        JsonPath bulk = replayAll(admin, Map.of("reasonContains", marker, "dryRun", false));
        assertThat(bulk.getList("replayed")).isEmpty();
        assertThat(bulk.getList("skipped.code", String.class)).containsExactly("ORIGIN_GONE");
        assertThat(HeldRecords.endOffsets(Topics.RECOVERY_EVENTS)).isEqualTo(before);
    }

    @Test
    void aRecordReplayedOnceAndParkedAgainIsTheCopyAtItsOriginAndIsReplayedAgain() throws Exception {
        String marker = "parked twice " + UUID.randomUUID();
        Map<String, Long> start = HeldRecords.endOffsets(Topics.RECOVERY_EVENTS);
        String runId = UUID.randomUUID().toString();
        Headers own = event(runId, marker);
        String value = finished(runId, "COMPENSATED");
        RecordMetadata originAt = publish("recovery-coordinator", Topics.RECOVERY_EVENTS, runId, value, own);
        RecordMetadata first = park(runId, value, parkingHeaders(own, originAt, marker), Instant.now());
        String admin = Tokens.mint("admin-sol", Roles.ADMIN);
        JsonPath copy = replay(admin, first, false).statusCode(200).extract().jsonPath();

        // the copy's consumer parks it again: it names the copy's place, and carries the first replay's headers
        ConsumerRecord<String, String> sent = HeldRecords.read(copy.getString("topic"), copy.getInt("partition"),
                copy.getLong("offset"));
        RecordMetadata second = park(runId, sent.value(), parkingHeaders(sent.headers(), new RecordMetadata(
                new TopicPartition(sent.topic(), sent.partition()), sent.offset(), 0, 0, 0, 0), marker),
                Instant.now());
        JsonPath again = replay(admin, second, false).statusCode(200).extract().jsonPath();
        ConsumerRecord<String, String> resent = HeldRecords.read(again.getString("topic"), again.getInt("partition"),
                again.getLong("offset"));
        assertThat(resent.value()).isEqualTo(value);
        assertThat(HeldRecords.values(resent.headers(), EventCodec.H_ID)).containsExactly(header(own, EventCodec.H_ID));
        assertThat(HeldRecords.values(resent.headers(), ParkedRecordService.REPLAYED_FROM))
                .containsExactly(Topics.PARKED + "-" + second.partition() + "@" + second.offset());
        assertThat(HeldRecords.replayedSince(start, marker)).hasSize(2);
    }

    /** A RecoveryFinished's headers, with the test marker {@code marker} that finds its copies. */
    private static Headers event(String runId, String marker) {
        Headers headers = EventCodec.headers(EventType.RECOVERY_FINISHED, "/recovery-coordinator", runId);
        headers.add("x-test-marker", utf8(marker));
        return headers;
    }

    private static String finished(String runId, String status) {
        return "{\"runId\":\"" + runId + "\",\"status\":\"" + status + "\",\"success\":" + status.equals("SUCCEEDED")
                + "}";
    }

    private static KafkaProducer<String, String> producer(String principal) {
        return new KafkaProducer<>(LocalStack.ensureStarted().kafkaClientConfig(principal), new StringSerializer(),
                new StringSerializer());
    }

    private static RecordMetadata publish(String principal, String topic, String key, String value, Headers headers)
            throws Exception {
        try (KafkaProducer<String, String> producer = producer(principal)) {
            return producer.send(new ProducerRecord<>(topic, null, key, value, headers)).get(30, TimeUnit.SECONDS);
        }
    }

    /** Writes a record to the parking topic with catalog-service's credentials, as it parks (or could forge) one. */
    private static RecordMetadata park(String key, String value, Headers headers, Instant heldAt) throws Exception {
        try (KafkaProducer<String, String> producer = producer("catalog-service")) {
            return producer.send(new ProducerRecord<>(Topics.PARKED, null, heldAt.toEpochMilli(), key, value, headers))
                    .get(30, TimeUnit.SECONDS);
        }
    }

    private static ValidatableResponse replay(String admin, RecordMetadata held, boolean force) {
        Map<String, Object> order = new LinkedHashMap<>();
        order.put("from", "parked");
        order.put("partition", held.partition());
        order.put("offset", held.offset());
        order.put("force", force);
        return given().auth().oauth2(admin).contentType(ContentType.JSON).body(order).post(REPLAY).then();
    }

    private static JsonPath replayAll(String admin, Map<String, Object> order) {
        return given().auth().oauth2(admin).contentType(ContentType.JSON).body(order).post(REPLAY + "-all").then()
                .statusCode(200).extract().jsonPath();
    }
}
