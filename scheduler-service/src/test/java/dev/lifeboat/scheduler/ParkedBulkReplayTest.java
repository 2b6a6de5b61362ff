package dev.lifeboat.scheduler;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.scheduler.service.ParkedRecordService;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;

/**
 * After one refused password a worker parks every record it takes: the administrator replays them all at once with a
 * filter, every replay is remembered, and nothing is replayed twice by accident. Real Kafka and PostgreSQL; the
 * copies are read back from their origin topics.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true)
class ParkedBulkReplayTest {
    private static final String REPLAY_ALL = "/api/v1/admin/parked/replay-all";

    @Test
    void bulkReplayTakesExactlyTheMatchingRecordsOnceOldestFirstAndRemembersThem() throws Exception {
        String marker = "login refused " + UUID.randomUUID();
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        Map<String, Long> startOffsets = HeldRecords.endOffsets(Topics.BACKUP_REQUESTED, Topics.RECOVERY_EVENTS);
        // newest first on the topic, so that "oldest first" is the held time, not the offset
        RecordMetadata events = park(Topics.RECOVERY_EVENTS, "plan-" + marker.hashCode(),
                "password authentication failed: " + marker.toUpperCase(), now.minus(Duration.ofHours(1)), marker);
        RecordMetadata request = park(Topics.BACKUP_REQUESTED, "src-bulk",
                "PostgreSQL: " + marker, now.minus(Duration.ofHours(2)), marker);
        RecordMetadata command = park(Topics.RECOVERY_COMMANDS, "run-1", marker, now.minus(Duration.ofHours(3)), marker);
        RecordMetadata other = park(Topics.BACKUP_REQUESTED, "src-bulk", "disk full " + UUID.randomUUID(),
                now.minus(Duration.ofHours(2)), "other-" + marker);
        String admin = Tokens.mint("admin-dora", Roles.ADMIN);

        // a dry run says what would be replayed, oldest first, and what not, and sends nothing
        JsonPath dry = replayAll(admin, Map.of("reasonContains", marker, "dryRun", true)).statusCode(200)
                .extract().jsonPath();
        assertThat(dry.getBoolean("dryRun")).isTrue();
        assertThat(dry.getList("replayed.held.offset", Long.class)).containsExactly(request.offset(), events.offset());
        assertThat(dry.getList("replayed.copy")).containsOnlyNulls();
        assertThat(dry.getList("skipped.code", String.class)).containsExactly("ORIGIN_NOT_REPLAYABLE");
        assertThat(dry.getLong("skipped[0].held.offset")).isEqualTo(command.offset());
        assertThat(dry.getString("skipped[0].reason")).contains("start a new run of the plan instead");
        // heldAfter narrows by the time the record was held
        assertThat(replayAll(admin, Map.of("reasonContains", marker, "dryRun", true, "heldAfter",
                now.minus(Duration.ofMinutes(90)).toString())).statusCode(200).extract().jsonPath()
                .getList("replayed.held.offset", Long.class)).containsExactly(events.offset());
        // the limit takes the oldest and says how many remain
        JsonPath limited = replayAll(admin, Map.of("reasonContains", marker, "dryRun", true, "limit", 1))
                .statusCode(200).extract().jsonPath();
        assertThat(limited.getList("replayed.held.offset", Long.class)).containsExactly(request.offset());
        assertThat(limited.getInt("remaining")).isEqualTo(1);
        // an order that does not say "dryRun": false is a dry run too: posted bare, it replays nothing (the copies
        // counted below are the two runs that follow)
        JsonPath unsaid = replayAll(admin, Map.of("reasonContains", marker)).statusCode(200).extract().jsonPath();
        assertThat(unsaid.getBoolean("dryRun")).isTrue();
        assertThat(unsaid.getList("replayed.copy")).hasSize(2).containsOnlyNulls();

        // only the filtered origin is replayed
        JsonPath first = replayAll(admin, Map.of("reasonContains", marker, "originTopic", Topics.BACKUP_REQUESTED,
                "dryRun", false)).statusCode(200).extract().jsonPath();
        assertThat(first.getBoolean("complete")).isTrue();
        assertThat(first.getList("replayed.held.offset", Long.class)).containsExactly(request.offset());
        assertThat(first.getString("replayed[0].copy.topic")).isEqualTo(Topics.BACKUP_REQUESTED);

        // the next run replays the rest and skips what was replayed, naming when and by whom
        JsonPath second = replayAll(admin, Map.of("reasonContains", marker, "dryRun", false)).statusCode(200)
                .extract().jsonPath();
        assertThat(second.getList("replayed.held.offset", Long.class)).containsExactly(events.offset());
        assertThat(second.getList("skipped.code", String.class))
                .containsExactly("ORIGIN_NOT_REPLAYABLE", "ALREADY_REPLAYED");
        assertThat(second.getString("skipped[1].reason")).contains("by admin-dora");
        assertThat(second.getString("skipped[1].held.replayedBy")).isEqualTo("admin-dora");

        // and a third replays nothing
        JsonPath third = replayAll(admin, Map.of("reasonContains", marker, "dryRun", false)).statusCode(200)
                .extract().jsonPath();
        assertThat(third.getList("replayed")).isEmpty();
        assertThat(third.getList("skipped.code", String.class))
                .containsExactly("ORIGIN_NOT_REPLAYABLE", "ALREADY_REPLAYED", "ALREADY_REPLAYED");
        assertThat(third.getInt("skippedCount")).isEqualTo(3);

        // exactly one copy of each replayed record reached its origin topic, as it was, marked with who and whence
        List<ConsumerRecord<String, String>> copies = HeldRecords.replayedSince(startOffsets, marker);
        assertThat(copies).extracting(c -> HeldRecords.header(c.headers(), ParkedRecordService.REPLAYED_FROM)).containsExactlyInAnyOrder(
                Topics.PARKED + "-" + request.partition() + "@" + request.offset(),
                Topics.PARKED + "-" + events.partition() + "@" + events.offset());
        for (ConsumerRecord<String, String> c : copies) {
            assertThat(HeldRecords.values(c.headers(), ParkedRecordService.REPLAYED_BY)).containsExactly("admin-dora");
            assertThat(HeldRecords.header(c.headers(), EventCodec.H_ID)).isNotBlank();
            assertThat(HeldRecords.header(c.headers(), Parking.REASON)).isNull();
            assertThat(HeldRecords.header(c.headers(), Parking.ORIGIN_TOPIC)).isNull();
            assertThat(HeldRecords.header(c.headers(), "x-test-marker")).isEqualTo(marker);
        }
        assertThat(copies).filteredOn(c -> c.topic().equals(Topics.BACKUP_REQUESTED)).singleElement()
                .satisfies(c -> assertThat(c.key()).isEqualTo("src-bulk"));

        // the list shows when and by whom each was replayed; the record that matched no filter was not
        JsonPath list = given().auth().oauth2(Tokens.viewer()).queryParam("limit", 1000).get("/api/v1/admin/parked")
                .then().statusCode(200).extract().jsonPath();
        String at = "find { it.partition == %d && it.offset == %d }.";
        assertThat(list.getString(at.formatted(request.partition(), request.offset()) + "replayedBy"))
                .isEqualTo("admin-dora");
        assertThat(Instant.parse(list.getString(at.formatted(events.partition(), events.offset()) + "replayedAt")))
                .isAfter(now);
        assertThat(list.getString(at.formatted(other.partition(), other.offset()) + "replayedAt")).isNull();
    }

    @Test
    void twoBulkReplaysAtOnceSendEachRecordOnce() throws Exception {
        String marker = "broker refused " + UUID.randomUUID();
        Map<String, Long> startOffsets = HeldRecords.endOffsets(Topics.BACKUP_REQUESTED, Topics.RECOVERY_EVENTS);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        int n = 150;
        for (int i = 0; i < n; i++) {
            park(Topics.BACKUP_REQUESTED, "src-twice-" + i, marker, now.minusSeconds(n - i), marker);
        }
        Map<String, Object> order = Map.of("reasonContains", marker, "dryRun", false, "limit", 1000);
        // both read the replays before either sends: each record is claimed before its copy goes, once
        java.util.concurrent.ExecutorService two = java.util.concurrent.Executors.newFixedThreadPool(2);
        JsonPath a;
        JsonPath b;
        try {
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.Future<JsonPath> first = two.submit(() -> {
                go.await();
                return replayAll(Tokens.mint("admin-gus", Roles.ADMIN), order).statusCode(200).extract().jsonPath();
            });
            java.util.concurrent.Future<JsonPath> second = two.submit(() -> {
                go.await();
                return replayAll(Tokens.mint("admin-hal", Roles.ADMIN), order).statusCode(200).extract().jsonPath();
            });
            go.countDown();
            a = first.get(2, java.util.concurrent.TimeUnit.MINUTES);
            b = second.get(2, java.util.concurrent.TimeUnit.MINUTES);
        } finally {
            two.shutdownNow();
        }
        assertThat(a.getList("replayed").size() + b.getList("replayed").size()).isEqualTo(n);
        assertThat(a.getInt("skippedCount") + b.getInt("skippedCount")).isEqualTo(n);
        assertThat(a.getInt("remaining") + b.getInt("remaining")).isZero();
        List<ConsumerRecord<String, String>> copies = HeldRecords.replayedSince(startOffsets, marker);
        assertThat(copies).extracting(c -> HeldRecords.header(c.headers(), ParkedRecordService.REPLAYED_FROM))
                .hasSize(n).doesNotHaveDuplicates();
    }

    @Test
    void aRecordReplayedBeforeIsRefusedUnlessForced() throws Exception {
        String marker = "refused " + UUID.randomUUID();
        RecordMetadata held = park(Topics.BACKUP_REQUESTED, "src-again", marker, Instant.now(), marker);
        Map<String, Object> order = Map.of("from", "parked", "partition", held.partition(), "offset", held.offset());
        given().auth().oauth2(Tokens.mint("admin-eve", Roles.ADMIN)).contentType(ContentType.JSON).body(order)
                .post("/api/v1/admin/parked/replay").then().statusCode(200);
        given().auth().oauth2(Tokens.mint("admin-finn", Roles.ADMIN)).contentType(ContentType.JSON).body(order)
                .post("/api/v1/admin/parked/replay").then().statusCode(409)
                .body("title", containsString("Already replayed"))
                .body("detail", containsString("by admin-eve"))
                .body("detail", containsString("force"));
        Map<String, Object> forced = new LinkedHashMap<>(order);
        forced.put("force", true);
        given().auth().oauth2(Tokens.mint("admin-finn", Roles.ADMIN)).contentType(ContentType.JSON).body(forced)
                .post("/api/v1/admin/parked/replay").then().statusCode(200)
                .body("topic", org.hamcrest.Matchers.equalTo(Topics.BACKUP_REQUESTED));
        // the list shows the last replay
        given().auth().oauth2(Tokens.viewer()).queryParam("limit", 1000).get("/api/v1/admin/parked").then()
                .statusCode(200).body("find { it.partition == %d && it.offset == %d }.replayedBy"
                        .formatted(held.partition(), held.offset()), org.hamcrest.Matchers.equalTo("admin-finn"));
    }

    @Test
    void onlyAnAdministratorReplaysInBulkAndEveryBadBodyIsA400NamingTheField() {
        Map<String, Object> order = Map.of("reasonContains", "nothing matches " + UUID.randomUUID(), "dryRun", true);
        given().contentType(ContentType.JSON).body(order).post(REPLAY_ALL).then().statusCode(401);
        for (String role : List.of(Roles.VIEWER, Roles.OPERATOR)) {
            replayAll(Tokens.mint("not-admin", role), order).statusCode(403);
        }
        String admin = Tokens.admin();
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("{\"limit\": 0}", "limit");
        bad.put("{\"limit\": 1001}", "limit");
        bad.put("{\"from\": \"everything\"}", "from");
        bad.put("{\"originTopic\": \"a topic\\nwith a line\"}", "originTopic");
        bad.put("{\"reasonContains\": \"\"}", "reasonContains");
        bad.put("{\"reasonContains\": \"" + "x".repeat(501) + "\"}", "reasonContains");
        bad.put("{\"heldAfter\": \"yesterday\"}", "heldAfter");
        bad.put("{\"heldAfter\": \"2026-01-02T00:00:00Z\", \"heldBefore\": \"2026-01-01T00:00:00Z\"}", "heldBefore");
        bad.put("{\"reasonContain\": \"typo widens nothing\"}", "unknown field");
        bad.put("{\"limit\": \"many\"}", "limit");
        bad.put("[]", "");
        bad.put("", "");
        bad.forEach((body, names) -> given().auth().oauth2(admin).contentType(ContentType.JSON).body(body)
                .post(REPLAY_ALL).then().statusCode(400).contentType("application/problem+json")
                .body("detail", containsString(names)));
    }

    private static io.restassured.response.ValidatableResponse replayAll(String token, Map<String, Object> body) {
        return given().auth().oauth2(token).contentType(ContentType.JSON).body(body).post(REPLAY_ALL).then();
    }

    /** A record parked as a worker parks it, held at {@code heldAt}, marked {@code tag} ({@link HeldRecords#park}). */
    private static RecordMetadata park(String origin, String key, String reason, Instant heldAt, String tag)
            throws Exception {
        return HeldRecords.park(origin, null, key, reason, heldAt, tag, 4);
    }
}
