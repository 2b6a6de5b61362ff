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
import jakarta.inject.Inject;
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
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static dev.lifeboat.scheduler.HeldRecords.claimWithoutCopy;
import static dev.lifeboat.scheduler.HeldRecords.header;
import static dev.lifeboat.scheduler.HeldRecords.park;
import static dev.lifeboat.scheduler.HeldRecords.replayRows;
import static dev.lifeboat.scheduler.HeldRecords.replayedSince;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/**
 * A replay claims its record before sending the copy and records the copy after: a scheduler-service that stops in
 * between leaves a claim without a copy. Once stale, such a claim is settled from what the origin topic holds: the
 * copy found is recorded (the record is not sent twice), a copy never sent releases the claim (the record is replayed
 * without force). Rows about records the parking topic no longer has are deleted. Real Kafka and PostgreSQL: the claims
 * are the rows a stopped replay leaves, the copies are read back from their origin topics.
 */
@QuarkusTest
@QuarkusTestResource(value = ReplayTestServers.class, restrictToAnnotatedClass = true)
class ParkedReplayClaimsTest {
    private static final String LIST = "/api/v1/admin/parked";
    private static final String REPLAY = "/api/v1/admin/parked/replay";
    private static final String AT = "find { it.partition == %d && it.offset == %d }";

    @Inject
    ParkedRecordService parked;

    @Test
    void aCopySentButNeverRecordedIsFoundOnItsOriginTopicAndRecordedSoTheRecordIsNotSentTwice() throws Exception {
        String marker = "sent, not recorded " + UUID.randomUUID();
        Map<String, Long> start = HeldRecords.endOffsets(Topics.BACKUP_REQUESTED, Topics.RECOVERY_EVENTS);
        RecordMetadata held = park(Topics.BACKUP_REQUESTED, null, "src-claims", marker, Instant.now(), marker, 0);
        String admin = Tokens.mint("admin-ida", Roles.ADMIN);
        JsonPath copy = given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, false))
                .post(REPLAY).then().statusCode(200).extract().jsonPath();
        String copyPlace = copy.getString("topic") + "-" + copy.getInt("partition") + "@" + copy.getLong("offset");
        // the copy names the claim it was sent under
        ConsumerRecord<String, String> sent = HeldRecords.read(copy.getString("topic"), copy.getInt("partition"),
                copy.getLong("offset"));
        assertThat(header(sent.headers(), ParkedRecordService.REPLAYED_CLAIM)).isNotBlank();

        // scheduler-service stopped after the send, before it recorded the copy: the claim stands without one
        forgetCopy(held, Duration.ofSeconds(1));
        JsonPath young = list();
        assertThat(young.getString(at(held) + ".replayState")).isEqualTo("IN_FLIGHT");
        assertThat(young.getString(at(held) + ".replayedBy")).isEqualTo("admin-ida");
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, false)).post(REPLAY).then()
                .statusCode(409).body("title", equalTo("Replay in flight"))
                .body("detail", containsString("claim-stale-after"));

        // an hour later the claim is stale: the list looks for its copy and records it
        forgetCopy(held, Duration.ofHours(1));
        JsonPath settled = list();
        assertThat(settled.getString(at(held) + ".replayState")).isEqualTo("REPLAYED");
        assertThat(settled.getString(at(held) + ".replayedTo")).isEqualTo(copyPlace);
        assertThat(replayRows(held)).containsExactly(copyPlace);
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, false)).post(REPLAY).then()
                .statusCode(409).body("title", equalTo("Already replayed")).body("detail", containsString(copyPlace));

        // a single replay settles the claim of its record too, and a bulk replay skips what was replayed
        forgetCopy(held, Duration.ofHours(1));
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, false)).post(REPLAY).then()
                .statusCode(409).body("title", equalTo("Already replayed")).body("detail", containsString(copyPlace));
        forgetCopy(held, Duration.ofHours(1));
        JsonPath bulk = replayAll(admin, marker);
        assertThat(bulk.getList("replayed")).isEmpty();
        assertThat(bulk.getList("skipped.code", String.class)).containsExactly("ALREADY_REPLAYED");
        assertThat(replayRows(held)).containsExactly(copyPlace);
        assertThat(replayedSince(start, marker)).hasSize(1);
    }

    @Test
    void aClaimWhoseCopyNeverWentOutIsReleasedOnceStaleAndTheRecordIsReplayedWithoutForce() throws Exception {
        String marker = "claimed, never sent " + UUID.randomUUID();
        Map<String, Long> start = HeldRecords.endOffsets(Topics.BACKUP_REQUESTED, Topics.RECOVERY_EVENTS);
        RecordMetadata one = park(Topics.BACKUP_REQUESTED, null, "src-claims", marker, Instant.now(), marker, 0);
        RecordMetadata two = park(Topics.BACKUP_REQUESTED, null, "src-claims", marker, Instant.now(), marker, 0);
        RecordMetadata young = park(Topics.BACKUP_REQUESTED, null, "src-claims", marker, Instant.now(), marker, 0);
        claimWithoutCopy(one, eventId(one), Topics.BACKUP_REQUESTED, "admin-gone", Duration.ofHours(1));
        // a claim written before claims named their origin: the held record names it
        claimWithoutCopy(two, eventId(two), null, "admin-gone", Duration.ofHours(1));
        // a replay sending right now
        claimWithoutCopy(young, eventId(young), Topics.BACKUP_REQUESTED, "admin-busy", Duration.ofSeconds(1));
        String admin = Tokens.mint("admin-jo", Roles.ADMIN);

        // the single replay finds no copy of its record's claim, releases it and replays it without force
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(one, false)).post(REPLAY).then()
                .statusCode(200).body("topic", equalTo(Topics.BACKUP_REQUESTED));
        // the bulk replay does the same for the other, and leaves the one in flight alone
        JsonPath bulk = replayAll(admin, marker);
        assertThat(bulk.getList("replayed.held.offset", Long.class)).containsExactly(two.offset());
        assertThat(bulk.getList("skipped.code", String.class))
                .containsExactlyInAnyOrder("ALREADY_REPLAYED", "REPLAY_IN_FLIGHT");
        assertThat(bulk.getString("skipped.find { it.code == 'REPLAY_IN_FLIGHT' }.reason")).contains("admin-busy");

        JsonPath listed = list();
        assertThat(listed.getString(at(one) + ".replayedBy")).isEqualTo("admin-jo");
        assertThat(listed.getString(at(two) + ".replayState")).isEqualTo("REPLAYED");
        assertThat(listed.getString(at(young) + ".replayState")).isEqualTo("IN_FLIGHT");
        assertThat(replayRows(one)).singleElement().asString().startsWith(Topics.BACKUP_REQUESTED);
        assertThat(replayRows(two)).singleElement().asString().startsWith(Topics.BACKUP_REQUESTED);
        List<ConsumerRecord<String, String>> copies = replayedSince(start, marker);
        assertThat(copies).extracting(c -> header(c.headers(), ParkedRecordService.REPLAYED_FROM))
                .containsExactlyInAnyOrder(one.topic() + "-" + one.partition() + "@" + one.offset(),
                        two.topic() + "-" + two.partition() + "@" + two.offset());
    }

    @Test
    void aStaleClaimWhoseCopyCannotBeLookedForIsListedUnconfirmedAndNotReplayedWithoutForce() throws Exception {
        String marker = "unconfirmed " + UUID.randomUUID();
        RecordMetadata held = park(Topics.BACKUP_REQUESTED, null, "src-claims", marker, Instant.now(), marker, 0);
        // its copy went to a topic scheduler-service may not read: the look cannot finish
        claimWithoutCopy(held, eventId(held), "lifeboat.not-readable.v1", "admin-kim", Duration.ofHours(1));
        JsonPath listed = list();
        assertThat(listed.getString(at(held) + ".replayState")).isEqualTo("UNCONFIRMED");
        assertThat(listed.getString(at(held) + ".replayedBy")).isEqualTo("admin-kim");
        assertThat(listed.getString(at(held) + ".replayUnknown")).contains("lifeboat.not-readable.v1");
        String admin = Tokens.mint("admin-lou", Roles.ADMIN);
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, false)).post(REPLAY).then()
                .statusCode(409).body("title", equalTo("Replay unconfirmed"))
                .body("detail", containsString("admin-kim")).body("detail", containsString("force"));
        JsonPath bulk = replayAll(admin, marker);
        assertThat(bulk.getList("replayed")).isEmpty();
        assertThat(bulk.getList("skipped.code", String.class)).containsExactly("REPLAY_UNCONFIRMED");
        assertThat(replayRows(held)).containsExactly("");
        // the administrator who checked by hand replays it anyway
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, true)).post(REPLAY).then()
                .statusCode(200);
    }

    @Test
    void theUpkeepRoundSettlesStaleClaimsNobodyListsAndDeletesRowsAboutRecordsTheTopicNoLongerHas() throws Exception {
        String marker = "upkeep " + UUID.randomUUID();
        RecordMetadata held = park(Topics.BACKUP_REQUESTED, null, "src-claims", marker, Instant.now(), marker, 0);
        claimWithoutCopy(held, eventId(held), Topics.BACKUP_REQUESTED, "admin-gone", Duration.ofHours(1));
        ParkedRecordService.Upkept done = parked.upkeep("parked");
        assertThat(done.released()).isGreaterThanOrEqualTo(1);
        assertThat(replayRows(held)).isEmpty();
    }

    @Test
    void rowsAboutRecordsBelowTheEarliestOffsetAreNotReadAndAreDeleted() throws Exception {
        String marker = "retention " + UUID.randomUUID();
        RecordMetadata gone = park(Topics.BACKUP_REQUESTED, 0, "src-claims", marker, Instant.now(), marker, 0);
        RecordMetadata kept = park(Topics.BACKUP_REQUESTED, 0, "src-claims", marker, Instant.now(), marker, 0);
        String goneId = eventId(gone);
        claimWithoutCopy(gone, goneId, Topics.BACKUP_REQUESTED, "admin-old", Duration.ofSeconds(1));
        claimWithoutCopy(kept, eventId(kept), Topics.BACKUP_REQUESTED, "admin-old", Duration.ofSeconds(1));
        // retention takes the older record off the parking topic
        try (Admin admin = Admin.create(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN))) {
            admin.deleteRecords(Map.of(new TopicPartition(Topics.PARKED, 0),
                    RecordsToDelete.beforeOffset(kept.offset()))).all().get(30, TimeUnit.SECONDS);
        }
        JsonPath listed = list();
        assertThat(listed.getList("findAll { it.partition == 0 && it.offset == %d }".formatted(gone.offset())))
                .isEmpty();
        assertThat(listed.getString(at(kept) + ".replayState")).isEqualTo("IN_FLIGHT");
        assertThat(replayRows(gone)).isEmpty();
        assertThat(replayRows(kept)).containsExactly("");

        // the upkeep round deletes them too, in batches
        claimWithoutCopy(gone, goneId, Topics.BACKUP_REQUESTED, "admin-old", Duration.ofHours(2));
        claimWithoutCopy(gone, "another record at that place", Topics.BACKUP_REQUESTED, "admin-old",
                Duration.ofHours(2));
        assertThat(replayRows(gone)).hasSize(2);
        assertThat(parked.upkeep("parked").purged()).isGreaterThanOrEqualTo(2);
        assertThat(replayRows(gone)).isEmpty();
    }

    @Test
    void aSendThatFailsLooksForItsCopyAndGivesTheClaimBackWhenNoneWentOut() throws Exception {
        String key = "src-too-large-" + UUID.randomUUID();
        // a held record as large as a producer sends: its copy, with the replay's own headers added, is larger, and
        // its send fails before anything reaches the broker
        Headers headers = EventCodec.headers(EventType.BACKUP_REQUESTED, "/test/publisher", key);
        headers.add(Parking.ORIGIN_TOPIC, HeldRecords.utf8(Topics.BACKUP_REQUESTED));
        String value = largestValue(key, headers);
        RecordMetadata held;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(LocalStack.ensureStarted()
                .kafkaClientConfig(LocalStack.KAFKA_ADMIN), new StringSerializer(), new StringSerializer())) {
            held = producer.send(new ProducerRecord<>(Topics.PARKED, null, key, value, headers)).get(30,
                    TimeUnit.SECONDS);
        }
        String admin = Tokens.mint("admin-" + "n".repeat(200), Roles.ADMIN);
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, false)).post(REPLAY).then()
                .statusCode(503).body("title", equalTo("Replay failed"))
                .body("detail", containsString("no copy reached " + Topics.BACKUP_REQUESTED))
                .body("detail", containsString("can be replayed again"));
        assertThat(replayRows(held)).isEmpty();
        assertThat(list().getString(at(held) + ".replayState")).isNull();
    }

    /** A BackupRequested whose record, with {@code key} and {@code headers}, is the largest a producer sends. */
    private static String largestValue(String key, Headers headers) {
        int limit = 1024 * 1024; // max.request.size, the producers' default
        String value = "";
        for (int pad = limit; pad > 0; pad -= 8) {
            value = EventCodec.encodeData(new dev.lifeboat.contracts.BackupRequested(UUID.randomUUID().toString(), key,
                    dev.lifeboat.contracts.BackupType.FULL, null, "-".repeat(pad)));
            int size = org.apache.kafka.common.record.AbstractRecords.estimateSizeInBytesUpperBound(
                    org.apache.kafka.common.record.RecordBatch.CURRENT_MAGIC_VALUE,
                    org.apache.kafka.common.record.CompressionType.NONE, HeldRecords.utf8(key),
                    HeldRecords.utf8(value), headers.toArray());
            if (size <= limit) {
                return value;
            }
            pad -= Math.max(0, size - limit - 8);
        }
        throw new AssertionError("no value fits " + limit + " bytes");
    }

    private static Map<String, Object> order(RecordMetadata held, boolean force) {
        return Map.of("from", "parked", "partition", held.partition(), "offset", held.offset(), "force", force);
    }

    private static JsonPath replayAll(String admin, String marker) {
        return given().auth().oauth2(admin).contentType(ContentType.JSON)
                .body(Map.of("reasonContains", marker, "dryRun", false)).post(REPLAY + "-all").then()
                .statusCode(200).extract().jsonPath();
    }

    private static JsonPath list() {
        return given().auth().oauth2(Tokens.viewer()).queryParam("limit", 1000).get(LIST).then().statusCode(200)
                .extract().jsonPath();
    }

    private static String at(RecordMetadata held) {
        return AT.formatted(held.partition(), held.offset());
    }

    private static String eventId(RecordMetadata held) {
        return header(HeldRecords.read(held.topic(), held.partition(), held.offset()).headers(), EventCodec.H_ID);
    }

    /** Takes back the record of the copy of {@code held}'s replay and dates its claim {@code age} back. */
    private static void forgetCopy(RecordMetadata held, Duration age) {
        dev.lifeboat.testsupport.Databases.execute(RealServers.DB, ("update scheduler.parked_replay set copy_topic = null,"
                + " copy_partition = null, copy_offset = null, replayed_at = now() - interval '%d milliseconds'"
                + " where held_topic = '%s' and held_partition = %d and held_offset = %d")
                .formatted(age.toMillis(), held.topic(), held.partition(), held.offset()));
    }
}
