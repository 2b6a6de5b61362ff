package dev.lifeboat.scheduler;

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
    /** Older than lifeboat.replay.claim-stale-after (5m): a claim this old is stale, a copy sent just now in its window. */
    private static final Duration STALE = Duration.ofMinutes(5).plusSeconds(30);

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

        // the claim is stale (its copy within its window): the list looks for its copy and records it
        forgetCopy(held, STALE);
        JsonPath settled = list();
        assertThat(settled.getString(at(held) + ".replayState")).isEqualTo("REPLAYED");
        assertThat(settled.getString(at(held) + ".replayedTo")).isEqualTo(copyPlace);
        assertThat(replayRows(held)).containsExactly(copyPlace);
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, false)).post(REPLAY).then()
                .statusCode(409).body("title", equalTo("Already replayed")).body("detail", containsString(copyPlace));

        // a single replay settles the claim of its record too, and a bulk replay skips what was replayed
        forgetCopy(held, STALE);
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, false)).post(REPLAY).then()
                .statusCode(409).body("title", equalTo("Already replayed")).body("detail", containsString(copyPlace));
        forgetCopy(held, STALE);
        JsonPath bulk = replayAll(admin, marker);
        assertThat(bulk.getList("replayed")).isEmpty();
        assertThat(bulk.getList("skipped.code", String.class)).containsExactly("ALREADY_REPLAYED");
        assertThat(replayRows(held)).containsExactly(copyPlace);
        assertThat(replayedSince(start, marker)).hasSize(1);
    }

    @Test
    void aStaleClaimOfACopySentToTheRecoveryEventsIsSettledThereToo() throws Exception {
        String marker = "recovery event replayed " + UUID.randomUUID();
        RecordMetadata held = park(Topics.RECOVERY_EVENTS, null, "run-claims", marker, Instant.now(), marker, 0);
        String admin = Tokens.mint("admin-ray", Roles.ADMIN);
        JsonPath copy = given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, false))
                .post(REPLAY).then().statusCode(200).extract().jsonPath();
        assertThat(copy.getString("topic")).isEqualTo(Topics.RECOVERY_EVENTS);
        String copyPlace = Topics.RECOVERY_EVENTS + "-" + copy.getInt("partition") + "@" + copy.getLong("offset");

        // scheduler-service may read the topics it replays to: the stale claim's copy is found there
        forgetCopy(held, STALE);
        JsonPath settled = list();
        assertThat(settled.getString(at(held) + ".replayState")).isEqualTo("REPLAYED");
        assertThat(settled.getString(at(held) + ".replayedTo")).isEqualTo(copyPlace);
    }

    @Test
    void aParkedReplyIsNeverReplayedForItsTopicIsTheProofOfWhoSentIt() throws Exception {
        String marker = "reply held " + UUID.randomUUID();
        Map<String, Long> before = HeldRecords.endOffsets(Topics.SNAPSHOT_WORKER_REPLIES, Topics.STORAGE_WORKER_REPLIES);
        String admin = Tokens.mint("admin-ray", Roles.ADMIN);
        for (String origin : Topics.RECOVERY_REPLIES) {
            RecordMetadata held = park(origin, null, "run-claims", marker, Instant.now(), marker, 0);
            given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, true)).post(REPLAY).then()
                    .statusCode(422).body("title", equalTo("Origin not replayable"))
                    .body("detail", containsString("start a new run of the plan"));
        }
        JsonPath bulk = replayAll(admin, marker);
        assertThat(bulk.getList("replayed")).isEmpty();
        assertThat(bulk.getList("skipped.code", String.class))
                .containsExactly("ORIGIN_NOT_REPLAYABLE", "ORIGIN_NOT_REPLAYABLE");
        assertThat(HeldRecords.endOffsets(Topics.SNAPSHOT_WORKER_REPLIES, Topics.STORAGE_WORKER_REPLIES))
                .as("nothing sent to a reply topic").isEqualTo(before);
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
        // a held record as large as a producer sends (its origin, without the parking headers, a little smaller): its
        // copy, with the replay's own headers added, is larger, and its send fails before anything reaches the broker
        Headers own = EventCodec.headers(EventType.BACKUP_REQUESTED, "/test/publisher", key);
        String value = largestValue(key, HeldRecords.parkingHeaders(own, new RecordMetadata(
                new TopicPartition(Topics.BACKUP_REQUESTED, 999), 999_999_999_999L, 0, 0, 0, 0), "too large"));
        RecordMetadata held;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(LocalStack.ensureStarted()
                .kafkaClientConfig(LocalStack.KAFKA_ADMIN), new StringSerializer(), new StringSerializer())) {
            RecordMetadata origin = producer.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, key, value, own))
                    .get(30, TimeUnit.SECONDS);
            held = producer.send(new ProducerRecord<>(Topics.PARKED, null, key, value,
                    HeldRecords.parkingHeaders(own, origin, "too large"))).get(30, TimeUnit.SECONDS);
        }
        String admin = Tokens.mint("admin-" + "n".repeat(200), Roles.ADMIN);
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, false)).post(REPLAY).then()
                .statusCode(503).body("title", equalTo("Replay failed"))
                .body("detail", containsString("no copy reached " + Topics.BACKUP_REQUESTED))
                .body("detail", containsString("can be replayed again"));
        assertThat(replayRows(held)).isEmpty();
        assertThat(list().getString(at(held) + ".replayState")).isNull();
    }

    @Test
    void aStaleClaimIsSettledWithinItsWindowHoweverManyRecordsTheOriginTopicGotSince() throws Exception {
        String marker = "window " + UUID.randomUUID();
        String origin = freshTopic();
        RecordMetadata sent = park(Topics.BACKUP_REQUESTED, null, "src-claims", marker, Instant.now(), marker, 0);
        RecordMetadata unsent = park(Topics.BACKUP_REQUESTED, null, "src-claims", marker, Instant.now(), marker, 0);
        Instant claimed = Instant.now().minus(Duration.ofHours(2));
        UUID sentClaim = claimWithoutCopy(sent, eventId(sent), origin, "admin-gone", Duration.ofHours(2));
        claimWithoutCopy(unsent, eventId(unsent), origin, "admin-gone", Duration.ofHours(2));
        // the copy of one went out right after its claim; then the origin topic got more records than one look reads
        RecordMetadata copy = publish(origin, claimed.plusSeconds(5), 1, sent, sentClaim, "admin-gone").get(0);
        publish(origin, Instant.now(), ReplayTestServers.CLAIM_CHECK_MAX_RECORDS + 100, null, null, null);

        JsonPath listed = list();
        assertThat(listed.getString(at(sent) + ".replayState")).isEqualTo("REPLAYED");
        assertThat(listed.getString(at(sent) + ".replayedTo"))
                .isEqualTo(origin + "-" + copy.partition() + "@" + copy.offset());
        assertThat(listed.getString(at(unsent) + ".replayState")).isNull();
        assertThat(replayRows(unsent)).isEmpty();
    }

    @Test
    void anOldClaimThatCannotBeSettledDoesNotKeepANewerOneOnTheSameOriginFromSettling() throws Exception {
        String marker = "held up " + UUID.randomUUID();
        String origin = freshTopic();
        RecordMetadata old = park(Topics.BACKUP_REQUESTED, null, "src-claims", marker, Instant.now(), marker, 0);
        RecordMetadata newer = park(Topics.BACKUP_REQUESTED, null, "src-claims", marker, Instant.now(), marker, 0);
        // the windows overlap: the newer claim was made two minutes after the old one
        Instant oldClaimed = Instant.now().minus(Duration.ofHours(4));
        claimWithoutCopy(old, eventId(old), origin, "admin-gone", Duration.ofHours(4));
        UUID newerClaim = claimWithoutCopy(newer, eventId(newer), origin, "admin-gone",
                Duration.ofHours(4).minusMinutes(2));
        // the old claim's window holds more records than one look reads, the newer claim's copy comes after them
        publish(origin, oldClaimed.plusSeconds(10), ReplayTestServers.CLAIM_CHECK_MAX_RECORDS + 100, null, null, null);
        RecordMetadata copy = publish(origin, oldClaimed.plus(Duration.ofMinutes(2)).plusSeconds(5), 1, newer,
                newerClaim, "admin-gone").get(0);

        ParkedRecordService.Upkept done = parked.upkeep("parked");
        assertThat(done.recorded()).isGreaterThanOrEqualTo(1);
        assertThat(replayRows(newer)).containsExactly(origin + "-" + copy.partition() + "@" + copy.offset());
        JsonPath listed = list();
        assertThat(listed.getString(at(newer) + ".replayState")).isEqualTo("REPLAYED");
        assertThat(listed.getString(at(old) + ".replayState")).isEqualTo("UNCONFIRMED");
        assertThat(listed.getString(at(old) + ".replayUnknown")).contains("claim-check-max-records");
    }

    @Test
    void aClaimFromBeforeCopiesNamedTheirClaimIsNotTakenForReplayedOnForgedHeaders() throws Exception {
        String marker = "forged " + UUID.randomUUID();
        Map<String, Long> start = HeldRecords.endOffsets(Topics.BACKUP_REQUESTED, Topics.RECOVERY_EVENTS);
        RecordMetadata held = park(Topics.BACKUP_REQUESTED, null, "src-claims", marker, Instant.now(), marker, 0);
        // a claim written before claims named their origin, and copies their claim
        claimWithoutCopy(held, eventId(held), null, "admin-old", Duration.ofHours(1));
        // a publisher to the origin topic writes what such a copy carried: where it was held and who replayed it
        publish(Topics.BACKUP_REQUESTED, Instant.now(), 1, held, null, "admin-old");

        JsonPath listed = list();
        assertThat(listed.getString(at(held) + ".replayState")).isNull();
        assertThat(replayRows(held)).isEmpty();
        // the record is replayed without force: it is not skipped as replayed
        String admin = Tokens.mint("admin-pat", Roles.ADMIN);
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(order(held, false)).post(REPLAY).then()
                .statusCode(200).body("topic", equalTo(Topics.BACKUP_REQUESTED));
        assertThat(replayedSince(start, marker)).extracting(c -> header(c.headers(), ParkedRecordService.REPLAYED_BY))
                .containsExactly("admin-pat");
    }

    /**
     * A new topic of one partition that scheduler-service may read, standing for an origin topic: its records are only
     * the ones a test writes, stamped as it chooses (on a shared origin topic, records stamped hours back behind records
     * of other tests would not be found by their time, as they never are in production).
     */
    private static String freshTopic() throws Exception {
        String topic = "lifeboat.test.claims-" + UUID.randomUUID();
        LocalStack stack = LocalStack.ensureStarted();
        try (Admin admin = Admin.create(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN))) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1))).all()
                    .get(30, TimeUnit.SECONDS);
            org.apache.kafka.common.resource.ResourcePattern pattern = new org.apache.kafka.common.resource
                    .ResourcePattern(org.apache.kafka.common.resource.ResourceType.TOPIC, topic,
                    org.apache.kafka.common.resource.PatternType.LITERAL);
            List<org.apache.kafka.common.acl.AclBinding> acls = java.util.stream.Stream.of(
                            org.apache.kafka.common.acl.AclOperation.READ,
                            org.apache.kafka.common.acl.AclOperation.DESCRIBE)
                    .map(op -> new org.apache.kafka.common.acl.AclBinding(pattern,
                            new org.apache.kafka.common.acl.AccessControlEntry("User:scheduler-service", "*", op,
                                    org.apache.kafka.common.acl.AclPermissionType.ALLOW)))
                    .toList();
            admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
        }
        // the grant reaches the broker's authorizer shortly after it is written
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        try (org.apache.kafka.clients.consumer.KafkaConsumer<String, String> consumer =
                     new org.apache.kafka.clients.consumer.KafkaConsumer<>(stack.kafkaClientConfig("scheduler-service"),
                             new org.apache.kafka.common.serialization.StringDeserializer(),
                             new org.apache.kafka.common.serialization.StringDeserializer())) {
            while (true) {
                try {
                    TopicPartition tp = new TopicPartition(topic, 0);
                    consumer.endOffsets(List.of(tp), Duration.ofSeconds(5));
                    return topic;
                } catch (org.apache.kafka.common.errors.TopicAuthorizationException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    Thread.sleep(200);
                }
            }
        }
    }

    /**
     * Writes {@code count} BackupRequested records to {@code topic} stamped {@code at}; with {@code held}, each as a
     * replay's copy of it by {@code by} (under {@code claim} when given, else with only the headers copies carried
     * before they named their claim).
     */
    private static List<RecordMetadata> publish(String topic, Instant at, int count, RecordMetadata held, UUID claim,
                                                String by) throws Exception {
        List<java.util.concurrent.Future<RecordMetadata>> sent = new java.util.ArrayList<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(LocalStack.ensureStarted()
                .kafkaClientConfig(LocalStack.KAFKA_ADMIN), new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < count; i++) {
                String key = "src-filler";
                Headers headers = EventCodec.headers(EventType.BACKUP_REQUESTED, "/test/publisher", key);
                if (held != null) {
                    headers.add(ParkedRecordService.REPLAYED_FROM,
                            HeldRecords.utf8(held.topic() + "-" + held.partition() + "@" + held.offset()));
                    headers.add(ParkedRecordService.REPLAYED_BY, HeldRecords.utf8(by));
                    if (claim != null) {
                        headers.add(ParkedRecordService.REPLAYED_CLAIM, HeldRecords.utf8(claim.toString()));
                    }
                }
                String value = EventCodec.encodeData(new dev.lifeboat.contracts.BackupRequested(
                        UUID.randomUUID().toString(), key, dev.lifeboat.contracts.BackupType.FULL, null, "test"));
                sent.add(producer.send(new ProducerRecord<>(topic, null, at.toEpochMilli(), key, value, headers)));
            }
            producer.flush();
            List<RecordMetadata> done = new java.util.ArrayList<>();
            for (var f : sent) {
                done.add(f.get(30, TimeUnit.SECONDS));
            }
            return done;
        }
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
