package dev.lifeboat.catalog;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.catalog.domain.ListCursor;
import dev.lifeboat.catalog.service.FleetMetrics;
import dev.lifeboat.catalog.service.FleetQueries;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.vertx.VertxContextSupport;
import jakarta.inject.Inject;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.ValidatableResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.lifeboat.catalog.BackupLifecycleTest.awaitBackup;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.nullValue;

/**
 * GET /api/v1/sources/{id}/rpo: backups come through real Kafka into the real PostgreSQL catalog; the policies come
 * over HTTP from {@link SchedulerStandIn} (why a stand-in and not the real scheduler: see there).
 */
@QuarkusTest
@WithTestResource(CatalogTestResource.class)
@WithTestResource(SchedulerStandIn.class)
class RpoComplianceTest {
    static TestKafka kafka;

    @Inject
    FleetMetrics fleetMetrics;

    @BeforeAll
    static void connect() {
        kafka = new TestKafka();
    }

    @AfterAll
    static void disconnect() {
        kafka.close();
    }

    @Test
    void aBackupYoungerThanTheStrictestEnabledRpoIsCompliant() {
        TestBackups old = TestBackups.of(BackupType.FULL).ofSource(SchedulerStandIn.COMPLIANT);
        TestBackups recent = TestBackups.of(BackupType.INCREMENTAL).ofSource(SchedulerStandIn.COMPLIANT);
        Instant recentStart = Instant.now().minus(30, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MILLIS);
        kafka.publish(old.sourceId(), old.completed(Instant.now().minus(5, ChronoUnit.HOURS)));
        kafka.publish(recent.sourceId(), recent.completed(recentStart));
        awaitBackup(recent.backupId(), "COMPLETED");

        rpo(SchedulerStandIn.COMPLIANT).statusCode(200)
                .body("sourceId", equalTo(SchedulerStandIn.COMPLIANT))
                .body("compliant", equalTo(true))
                // PT1M belongs to a disabled policy: it does not count
                .body("rpo", equalTo("PT2H")).body("rpoSeconds", equalTo(7200))
                .body("policyId", equalTo("pol-c-hourly"))
                .body("latestBackup.backupId", equalTo(recent.backupId()))
                .body("latestBackup.completedAt", equalTo(recentStart.plusSeconds(7).toString()))
                .body("latestBackup.ageSeconds", allOf(greaterThanOrEqualTo(30 * 60 - 7), lessThan(40 * 60)))
                .body("reason", containsString("within the RPO PT2H of policy 'pol-c-hourly'"))
                .body("policies.policyId", contains("pol-c-daily", "pol-c-hourly", "pol-c-paused"))
                .body("policies.applies", contains(true, true, false))
                .body("policies.compliant", contains(true, true, false));
    }

    @Test
    void aBackupOlderThanTheRpoIsNotCompliantAndAFailedNewerOneDoesNotHelp() {
        TestBackups old = TestBackups.of(BackupType.FULL).ofSource(SchedulerStandIn.LATE);
        TestBackups failed = TestBackups.of(BackupType.INCREMENTAL).ofSource(SchedulerStandIn.LATE);
        kafka.publish(old.sourceId(), old.completed(Instant.now().minus(3, ChronoUnit.HOURS)));
        kafka.publish(failed.sourceId(), failed.requested("rpo-test"));
        kafka.publish(failed.sourceId(), failed.failed("UPLOAD", "bucket not found"));
        awaitBackup(old.backupId(), "COMPLETED");
        awaitBackup(failed.backupId(), "FAILED");

        rpo(SchedulerStandIn.LATE).statusCode(200)
                .body("compliant", equalTo(false))
                .body("rpo", equalTo("PT1H")).body("rpoSeconds", equalTo(3600))
                .body("latestBackup.backupId", equalTo(old.backupId()))
                .body("latestBackup.ageSeconds", greaterThanOrEqualTo(3 * 3600 - 7))
                .body("reason", containsString("older than the RPO PT1H of policy 'pol-l-hourly'"))
                .body("policies[0].compliant", equalTo(false));
    }

    @Test
    void aSourceWithoutACompletedBackupIsNotCompliant() {
        rpo(SchedulerStandIn.NO_BACKUP).statusCode(200)
                .body("compliant", equalTo(false))
                .body("rpo", equalTo("P1D")).body("rpoSeconds", equalTo(86400))
                .body("latestBackup", nullValue())
                .body("reason", equalTo("source 'rpo-no-backup' has no completed backup; "
                        + "the RPO P1D of policy 'pol-n-daily' is not met"));
    }

    @Test
    void aSourceWithoutAnEnabledRpoHasNothingToComplyWith() {
        rpo(SchedulerStandIn.NO_RPO).statusCode(200)
                .body("compliant", nullValue())
                .body("rpo", nullValue())
                .body("reason", equalTo("no enabled policy of source 'rpo-none' sets an RPO"))
                .body("policies.applies", contains(false));
    }

    @Test
    void aSourceTheSchedulerDoesNotKnowIsA404() {
        rpo("no-such-source").statusCode(404).contentType("application/problem+json")
                .body("detail", equalTo("source 'no-such-source' is not known to scheduler-service"));
    }

    @Test
    void aSchedulerErrorIsA502() {
        rpo(SchedulerStandIn.SCHEDULER_ERROR).statusCode(502).contentType("application/problem+json")
                .body("title", equalTo("Bad Gateway"))
                .body("detail", containsString("scheduler-service answered HTTP 500"));
    }

    @Test
    void aSchedulerThatDoesNotAnswerIsA503() {
        Instant start = Instant.now();
        rpo(SchedulerStandIn.SCHEDULER_HANGS).statusCode(503).contentType("application/problem+json")
                .body("title", equalTo("Service Unavailable"))
                .body("detail", containsString("scheduler-service is unreachable"));
        // three attempts of at most ~1 s each, not the stand-in's 10 s
        assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(9));
    }

    @Test
    void theFleetGaugesShowAStaleBackupAFailedVerificationAndAFailedDrill() {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        TestBackups good = TestBackups.of(BackupType.FULL).ofSource(SchedulerStandIn.FLEET);
        TestBackups corrupt = TestBackups.of(BackupType.INCREMENTAL).ofSource(SchedulerStandIn.FLEET);
        Instant goodStart = now.minus(2, ChronoUnit.HOURS);
        Instant verifiedOk = now.minus(90, ChronoUnit.MINUTES);
        kafka.publish(good.sourceId(), good.completed(goodStart));
        kafka.publish(good.sourceId(), new BackupVerified(good.backupId(), good.sourceId(), BackupVerified.FULL, true,
                List.of(), verifiedOk));
        kafka.publish(corrupt.sourceId(), corrupt.completed(now.minus(10, ChronoUnit.MINUTES)));
        kafka.publish(corrupt.sourceId(), new BackupVerified(corrupt.backupId(), corrupt.sourceId(),
                BackupVerified.FULL, false, List.of("chunk 3 hash mismatch"), now.minus(1, ChronoUnit.MINUTES)));
        TestRuns drill = TestRuns.of(TestRuns.newPlan(), RunMode.DRILL, SchedulerStandIn.FLEET,
                now.minus(5, ChronoUnit.MINUTES));
        kafka.publish(drill.runId(), drill.started("drill-schedule"));
        kafka.publish(drill.runId(), drill.failed("row count of orders differs"));
        TestBackups fresh = TestBackups.of(BackupType.FULL).ofSource(SchedulerStandIn.FLEET_OK);
        kafka.publish(fresh.sourceId(), fresh.completed(now.minus(1, ChronoUnit.MINUTES)));

        String fleet = "{source=\"" + SchedulerStandIn.FLEET + "\"}";
        // the events reach the catalog asynchronously: refresh (as the timer does every 30 s) until they show
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            VertxContextSupport.subscribeAndAwait(() -> fleetMetrics.refresh());
            Map<String, Double> m = metrics();
            // the corrupt backup does not count: the newest restorable one is two hours old, past the PT1H RPO
            assertThat(m).containsEntry("lifeboat_source_rpo_compliant" + fleet, 0.0)
                    .containsEntry("lifeboat_source_rpo_seconds" + fleet, 3600.0)
                    .containsEntry("lifeboat_source_last_backup_timestamp_seconds" + fleet,
                            goodStart.plusSeconds(7).toEpochMilli() / 1000.0)
                    .containsEntry("lifeboat_source_last_verified_backup_timestamp_seconds" + fleet,
                            verifiedOk.toEpochMilli() / 1000.0)
                    .containsEntry("lifeboat_source_last_verification_ok" + fleet, 0.0)
                    .containsEntry("lifeboat_source_last_drill_success" + fleet, 0.0)
                    .containsEntry("lifeboat_source_last_drill_rto_seconds" + fleet, 50.0)
                    .containsEntry("lifeboat_source_rto_target_seconds" + fleet, 600.0)
                    .containsEntry("lifeboat_source_rpo_compliant{source=\"" + SchedulerStandIn.FLEET_OK + "\"}",
                            1.0)
                    // a source whose only policy is disabled has no RPO to meet: no series
                    .doesNotContainKey("lifeboat_source_rpo_compliant{source=\"" + SchedulerStandIn.NO_RPO + "\"}");
            assertThat(m).hasEntrySatisfying("lifeboat_catalog_fleet_refresh_timestamp_seconds",
                    refreshed -> assertThat(refreshed).isGreaterThanOrEqualTo(now.getEpochSecond()));
        });
    }

    /** The Prometheus scrape (open, like health), as series name with labels to value. */
    static Map<String, Double> metrics() {
        String text = given().when().get("/q/metrics").then().statusCode(200).extract().asString();
        Map<String, Double> m = new HashMap<>();
        for (String line : text.split("\n")) {
            int exemplar = line.indexOf(" # ");
            line = exemplar < 0 ? line : line.substring(0, exemplar);
            int space = line.lastIndexOf(' ');
            if (line.startsWith("lifeboat_") && space > 0) {
                m.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
            }
        }
        return m;
    }

    /**
     * GET /api/v1/fleet: every source with policies or backups, with the RPO verdict of
     * GET /sources/{id}/rpo, the next scheduled run, the last drill and the newest verification.
     */
    @Test
    void theFleetShowsEachSourceWithItsRpoVerdictAndLastDrill() {
        TestBackups recent = TestBackups.of(BackupType.INCREMENTAL).ofSource(SchedulerStandIn.COMPLIANT);
        TestBackups old = TestBackups.of(BackupType.FULL).ofSource(SchedulerStandIn.LATE);
        kafka.publish(recent.sourceId(), recent.completed(Instant.now().minus(20, ChronoUnit.MINUTES)));
        kafka.publish(old.sourceId(), old.completed(Instant.now().minus(3, ChronoUnit.HOURS)));
        TestRuns drill = TestRuns.of(TestRuns.newPlan(), dev.lifeboat.contracts.recovery.RunMode.DRILL,
                SchedulerStandIn.COMPLIANT, Instant.now().minus(10, ChronoUnit.MINUTES));
        kafka.publish(drill.runId(), drill.succeeded());
        awaitBackup(recent.backupId(), "COMPLETED");
        awaitBackup(old.backupId(), "COMPLETED");
        String compliant = "sources.find { it.sourceId == '" + SchedulerStandIn.COMPLIANT + "' }";
        String late = "sources.find { it.sourceId == '" + SchedulerStandIn.LATE + "' }";
        String none = "sources.find { it.sourceId == '" + SchedulerStandIn.NO_BACKUP + "' }";
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> fleet()
                .body(compliant + ".lastDrill.runId", equalTo(drill.runId())));
        fleet().body("checkedAt", org.hamcrest.Matchers.notNullValue())
                .body(compliant + ".method", equalTo("logical"))
                .body(compliant + ".rpoCompliant", equalTo(true))
                .body(compliant + ".rpoSeconds", equalTo(7200))
                .body(compliant + ".nextScheduledAt", equalTo("2026-01-01T01:00:00Z"))
                .body(compliant + ".lastGoodBackup.type", org.hamcrest.Matchers.notNullValue())
                .body(compliant + ".lastDrill.status", equalTo("SUCCEEDED"))
                .body(compliant + ".lastDrill.rtoSeconds", equalTo(42.0f))
                .body(compliant + ".lastDrill.rtoTargetSeconds", equalTo(600))
                .body(compliant + ".lastDrill.rtoMet", equalTo(true))
                .body(late + ".rpoCompliant", equalTo(false))
                .body(late + ".rpoSeconds", equalTo(3600))
                .body(late + ".reason", containsString("older than the RPO PT1H of policy 'pol-l-hourly'"))
                .body(late + ".lastGoodBackup.ageSeconds", greaterThanOrEqualTo(2 * 3600))
                .body(late + ".lastDrill", nullValue())
                .body(none + ".lastGoodBackup", nullValue())
                .body(none + ".rpoCompliant", equalTo(false))
                .body(none + ".reason", equalTo("source 'rpo-no-backup' has no completed backup; "
                        + "the RPO P1D of policy 'pol-n-daily' is not met"));
        // the same verdict as the source's own RPO answer
        String fleetNewest = fleet().extract().path(late + ".lastGoodBackup.backupId");
        rpo(SchedulerStandIn.LATE).statusCode(200).body("compliant", equalTo(false))
                .body("latestBackup.backupId", equalTo(fleetNewest));
    }

    /**
     * GET /api/v1/fleet a page at a time: following nextCursor with two sources a page meets every source once, in id
     * order, each with what the catalog and scheduler-service know of it, as one large page shows it; sources only
     * scheduler-service knows (policies, no backup) are paged like the others.
     */
    @Test
    void theFleetPagesByCursorMeetEverySourceOnceInIdOrder() {
        TestBackups recent = TestBackups.of(BackupType.FULL).ofSource(SchedulerStandIn.COMPLIANT);
        kafka.publish(recent.sourceId(), recent.completed(Instant.now().minus(5, ChronoUnit.MINUTES)));
        awaitBackup(recent.backupId(), "COMPLETED");
        Map<String, Object> whole = new java.util.LinkedHashMap<>();
        for (Map<String, Object> s : fleet().extract().jsonPath().<Map<String, Object>>getList("sources")) {
            whole.put((String) s.get("sourceId"), s.get("rpoSeconds"));
        }
        List<String> walked = new java.util.ArrayList<>();
        String cursor = ListCursor.encode(FleetQueries.LIST, "", null, "rpo-");
        do {
            io.restassured.path.json.JsonPath page = given().auth().oauth2(Tokens.viewer())
                    .queryParam("size", 2).queryParam("cursor", cursor)
                    .get("/api/v1/fleet").then().statusCode(200).extract().jsonPath();
            List<Map<String, Object>> sources = page.getList("sources");
            assertThat(sources).hasSizeLessThanOrEqualTo(2);
            for (Map<String, Object> s : sources) {
                String id = (String) s.get("sourceId");
                if (id.startsWith("rpo-")) {  // other tests' sources may still be arriving after these
                    assertThat(whole).containsKey(id);
                    assertThat(s.get("rpoSeconds")).as("rpoSeconds of %s", id).isEqualTo(whole.get(id));
                }
                walked.add(id);
            }
            cursor = page.getString("nextCursor");
        } while (cursor != null && walked.getLast().startsWith("rpo-"));
        List<String> stand = walked.stream().filter(id -> id.startsWith("rpo-")).toList();
        assertThat(stand).doesNotHaveDuplicates().isSorted()
                .containsAll(SchedulerStandIn.sourceIds())
                .containsAll(whole.keySet().stream().filter(id -> id.startsWith("rpo-")).toList());
        assertThat(whole.get(SchedulerStandIn.NO_BACKUP)).isEqualTo(86400);

        for (String size : List.of("0", String.valueOf(FleetQueries.MAX_SIZE + 1), "abc")) {
            given().auth().oauth2(Tokens.viewer()).queryParam("size", size).get("/api/v1/fleet")
                    .then().statusCode(400).body("detail", containsString("must be an integer between 1 and " + FleetQueries.MAX_SIZE));
        }
        // a well-formed cursor naming what can be no source id
        given().auth().oauth2(Tokens.viewer())
                .queryParam("cursor", ListCursor.encode(FleetQueries.LIST, "", null, "Not:A-Source"))
                .get("/api/v1/fleet").then().statusCode(400).body("detail", containsString("not a cursor of this list"));
        given().auth().oauth2(Tokens.viewer()).queryParam("cursor", "rpo-compliant' or 1=1").get("/api/v1/fleet")
                .then().statusCode(400).body("detail", containsString("not a cursor of this list"));
        String backupsCursor = ListCursor.encode("backups", "", null, "rpo-");
        given().auth().oauth2(Tokens.viewer()).queryParam("cursor", backupsCursor).get("/api/v1/fleet")
                .then().statusCode(400).body("detail", containsString("not a cursor of this list"));
    }

    /** The fleet from just before the stand-in's sources ("rpo-..."), in one page of the largest size. */
    static ValidatableResponse fleet() {
        return given().auth().oauth2(Tokens.viewer())
                .queryParam("cursor", ListCursor.encode(FleetQueries.LIST, "", null, "rpo-"))
                .queryParam("size", FleetQueries.MAX_SIZE)
                .when().get("/api/v1/fleet").then().statusCode(200);
    }

    static ValidatableResponse rpo(String sourceId) {
        return given().auth().oauth2(Tokens.admin()).when().get("/api/v1/sources/{id}/rpo", sourceId).then();
    }
}
