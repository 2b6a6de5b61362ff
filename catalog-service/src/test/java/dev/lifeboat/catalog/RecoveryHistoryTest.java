package dev.lifeboat.catalog;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.contracts.recovery.RecoveryStarted;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.testsupport.Databases;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.ValidatableResponse;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;

/** Recovery and drill runs from lifeboat.recovery.events.v1, read back through GET /api/v1/recoveries. */
@QuarkusTest
@WithTestResource(CatalogTestResource.class)
class RecoveryHistoryTest {
    // generous: the first record after start loads Hibernate and the DLQ producer on a busy 2-core machine
    static final Duration WAIT = Duration.ofSeconds(60);
    static TestKafka kafka;

    @BeforeAll
    static void connect() {
        kafka = new TestKafka();
    }

    @AfterAll
    static void disconnect() {
        kafka.close();
    }

    @Test
    void finishedBeforeStartedGivesTheSameRowAsStartedThenFinished() {
        String plan = TestRuns.newPlan();
        Instant t = Instant.now().minus(1, ChronoUnit.HOURS);
        TestRuns inOrder = TestRuns.of(plan, RunMode.DRILL, "src-a", t);
        TestRuns reversed = TestRuns.of(plan, RunMode.DRILL, "src-a", t);

        kafka.publish(inOrder.runId(), inOrder.started("drill-schedule"));
        kafka.publish(inOrder.runId(), inOrder.succeeded());
        kafka.publish(reversed.runId(), reversed.succeeded());
        kafka.publish(reversed.runId(), reversed.started("drill-schedule"));

        for (TestRuns run : List.of(inOrder, reversed)) {
            // the trigger comes only from RecoveryStarted, the status only from RecoveryFinished: both were folded
            awaitRun(run.runId(), r -> r.body("status", equalTo("SUCCEEDED")).body("trigger", equalTo("drill-schedule")))
                    .body("runId", equalTo(run.runId()))
                    .body("planId", equalTo(plan))
                    .body("planName", equalTo("orders DR"))
                    .body("mode", equalTo("DRILL"))
                    .body("success", equalTo(true))
                    .body("reason", nullValue())
                    .body("startedAt", equalTo(t.truncatedTo(ChronoUnit.MILLIS).toString()))
                    .body("finishedAt", equalTo(run.startedAt().plusSeconds(42).toString()))
                    .body("totalMillis", equalTo(42_000))
                    .body("rtoMillis", equalTo(600_000))
                    .body("rtoMet", equalTo(true))
                    .body("rpoSeconds", equalTo(3600))
                    .body("rpoMet", equalTo(true))
                    .body("sourceId", equalTo("src-a"))
                    .body("backupId", equalTo("backup-" + run.runId()))
                    .body("backupAgeSeconds", equalTo(1200))
                    .body("steps.index", contains(0, 1, 2))
                    .body("steps.kind", contains("RestoreDatabase", "VerifyIntegrity", "NotifyStakeholders"))
                    .body("steps[0].status", equalTo("COMPLETED"))
                    .body("steps[0].durationMillis", equalTo(30_000))
                    .body("steps[0].startedAt", equalTo(run.startedAt().toString()))
                    .body("steps[0].finishedAt", equalTo(run.startedAt().plusSeconds(30).toString()))
                    .body("steps[1].message", equalTo("2 checks passed"));
        }
    }

    @Test
    void aStartedRunIsRunningUntilItFinishes() {
        TestRuns run = TestRuns.of(TestRuns.newPlan(), RunMode.RECOVERY, "src-b", Instant.now());
        kafka.publish(run.runId(), run.started("ops@example.com"));
        awaitRun(run.runId(), r -> r.body("status", equalTo("RUNNING")))
                .body("mode", equalTo("RECOVERY"))
                .body("success", nullValue())
                .body("finishedAt", nullValue())
                .body("steps", hasSize(0));
    }

    @Test
    void aRedeliveredEventChangesNothing() throws Exception {
        TestRuns run = TestRuns.of(TestRuns.newPlan(), RunMode.RECOVERY, "src-c", Instant.now());
        String finishedId = UUID.randomUUID().toString();
        kafka.publish(run.runId(), run.started("ops@example.com"));
        kafka.publish(finishedId, Instant.now(), run.runId(), run.failed("row count of public.orders is 0"));
        awaitRun(run.runId(), r -> r.body("status", equalTo("FAILED")));

        // same event id, different data: the guard is the id, so this must be ignored entirely
        kafka.publish(finishedId, Instant.now(), run.runId(), run.succeeded());
        // same key, so same partition: once this marker run is in, the duplicate before it was processed
        TestRuns marker = TestRuns.of(run.planId(), RunMode.DRILL, "src-c", Instant.now());
        kafka.publish(run.runId(), marker.started("marker"));
        awaitRun(marker.runId(), r -> r.body("trigger", equalTo("marker")));

        run(run.runId()).statusCode(200)
                .body("status", equalTo("FAILED"))
                .body("success", equalTo(false))
                .body("reason", equalTo("row count of public.orders is 0"))
                .body("steps.kind", contains("RestoreDatabase", "VerifyIntegrity"));
        assertThat(eventRows(run.runId())).isEqualTo(2);
    }

    @Test
    void listFiltersByModePlanStatusAndSourceNewestFirstAndPaged() {
        String plan = TestRuns.newPlan();
        Instant t0 = Instant.now().minus(10, ChronoUnit.HOURS);
        TestRuns drillOk = TestRuns.of(plan, RunMode.DRILL, "src-x", t0);
        TestRuns drillFailed = TestRuns.of(plan, RunMode.DRILL, "src-x", t0.plus(1, ChronoUnit.HOURS));
        TestRuns recoveryOk = TestRuns.of(plan, RunMode.RECOVERY, "src-y", t0.plus(2, ChronoUnit.HOURS));
        TestRuns recoveryRunning = TestRuns.of(plan, RunMode.RECOVERY, "src-y", t0.plus(3, ChronoUnit.HOURS));
        kafka.publish(drillOk.runId(), drillOk.succeeded());
        kafka.publish(drillFailed.runId(), drillFailed.failed("check orders_not_empty failed"));
        kafka.publish(recoveryOk.runId(), recoveryOk.succeeded());
        kafka.publish(recoveryRunning.runId(), recoveryRunning.started("ops@example.com"));
        await().atMost(WAIT).untilAsserted(() -> list(Map.of("planId", plan)).body("items", hasSize(4)));

        list(Map.of("planId", plan)).body("items.runId", contains(recoveryRunning.runId(), recoveryOk.runId(),
                drillFailed.runId(), drillOk.runId())).body("size", equalTo(20)).body("nextCursor", nullValue())
                .body("items[0].steps", nullValue());
        list(Map.of("planId", plan, "mode", "drill"))
                .body("items.runId", contains(drillFailed.runId(), drillOk.runId()));
        list(Map.of("planId", plan, "mode", "RECOVERY", "status", "running"))
                .body("items.runId", contains(recoveryRunning.runId()));
        list(Map.of("planId", plan, "status", "COMPENSATED"))
                .body("items.runId", contains(drillFailed.runId()))
                .body("items[0].reason", equalTo("check orders_not_empty failed"));
        list(Map.of("planId", plan, "sourceId", "src-y", "status", "succeeded"))
                .body("items.runId", contains(recoveryOk.runId()));
        String cursor = list(Map.of("planId", plan, "size", "2"))
                .body("items.runId", contains(recoveryRunning.runId(), recoveryOk.runId()))
                .body("nextCursor", notNullValue()).extract().path("nextCursor");
        list(Map.of("planId", plan, "size", "2", "cursor", cursor))
                .body("size", equalTo(2)).body("items.runId", contains(drillFailed.runId(), drillOk.runId()))
                .body("nextCursor", nullValue());
        // a cursor is bound to its list and its filters
        given().auth().oauth2(Tokens.admin()).queryParams(Map.of("planId", plan, "mode", "drill", "cursor", cursor))
                .when().get("/api/v1/recoveries").then().statusCode(400)
                .body("detail", containsString("'cursor' was issued for other filters"));
        given().auth().oauth2(Tokens.admin()).queryParam("cursor", cursor)
                .when().get("/api/v1/backups").then().statusCode(400)
                .body("detail", containsString("'cursor' is not a cursor of this list"));
    }

    @Test
    void badFiltersAreA400NamingEachParameter() {
        given().auth().oauth2(Tokens.admin()).queryParam("mode", "rehearsal").queryParam("size", "0")
                .queryParam("page", "1")
                .when().get("/api/v1/recoveries")
                .then().statusCode(400).contentType("application/problem+json")
                .body("detail", containsString("query parameter 'page' is not supported"))
                .body("detail", containsString("query parameter 'mode' must be one of [recovery, drill], got 'rehearsal'"))
                .body("detail", containsString("query parameter 'size' must be between 1 and 200, got 0"));
    }

    @Test
    void anUnknownRunIsA404ProblemAndAMalformedIdA400() {
        String unknown = java.util.UUID.randomUUID().toString();
        run(unknown).statusCode(404).contentType("application/problem+json")
                .body("status", equalTo(404))
                .body("detail", equalTo("recovery run '" + unknown + "' does not exist"));
        run("no-such-run").statusCode(400).contentType("application/problem+json")
                .body("detail", containsString("must be a lower-case UUID"));
    }

    @Test
    void invalidRecoveryRecordsGoToTheDeadLetterTopicAndTheConsumerKeepsGoing() {
        TestRuns run = TestRuns.of(TestRuns.newPlan(), RunMode.DRILL, "src-d", Instant.now());
        String key = run.runId();
        Map<TopicPartition, Long> dlqStart = TestKafka.endOffsets(Topics.DLQ);

        Headers broken = EventCodec.headers(EventType.RECOVERY_FINISHED, "/tests/bad", key);
        kafka.send(Topics.RECOVERY_EVENTS, key, broken, "{\"runId\": ");
        RecoveryStarted noPlan = new RecoveryStarted(key, "", "orders DR", RunMode.DRILL, null, 600_000, 3600,
                Instant.now());
        kafka.publish(key, noPlan);
        // same key, same partition: these come after the bad records and must still be recorded
        kafka.publish(key, run.started("after-the-bad-ones"));
        kafka.publish(key, run.succeeded());

        awaitRun(key, r -> r.body("status", equalTo("SUCCEEDED"))).body("trigger", equalTo("after-the-bad-ones"));
        List<ConsumerRecord<String, String>> dead = TestKafka.read(dlqStart, r -> key.equals(r.key()), 2, WAIT);
        assertThat(dead).extracting(r -> EventCodec.header(r.headers(), "dead-letter-reason")).satisfiesExactlyInAnyOrder(
                reason -> assertThat(reason).startsWith("event data is not valid JSON"),
                reason -> assertThat(reason).isEqualTo("event data fails schema dev.lifeboat.recovery.started.v1: "
                        + "$.planId: must be at least 1 characters long"));
        assertThat(dead).extracting(r -> EventCodec.header(r.headers(), "dead-letter-topic"))
                .containsOnly(Topics.RECOVERY_EVENTS);
    }

    static ValidatableResponse run(String id) {
        return given().auth().oauth2(Tokens.admin()).when().get("/api/v1/recoveries/{id}", id).then();
    }

    static ValidatableResponse awaitRun(String id, java.util.function.Consumer<ValidatableResponse> until) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> until.accept(run(id).statusCode(200).body("runId", notNullValue())));
        return run(id).statusCode(200);
    }

    static ValidatableResponse list(Map<String, String> params) {
        return given().auth().oauth2(Tokens.admin()).queryParams(params).when().get("/api/v1/recoveries").then().statusCode(200);
    }

    static int eventRows(String runId) throws Exception {
        try (Connection c = Databases.connect(CatalogTestResource.DATABASE);
             PreparedStatement s = c.prepareStatement("select count(*) from catalog.recovery_event where run_id = ?")) {
            s.setString(1, runId);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}
