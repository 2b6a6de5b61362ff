package dev.lifeboat.catalog;

import dev.lifeboat.catalog.service.FleetMetrics;
import dev.lifeboat.contracts.WalStatus;
import dev.lifeboat.testsupport.Databases;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.vertx.VertxContextSupport;
import jakarta.inject.Inject;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.lifeboat.catalog.RpoComplianceTest.rpo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/**
 * GET /api/v1/sources/{id}/rpo of a physical source: its WAL archivers' reports come through real Kafka
 * (lifeboat.wal.status.v1, written as snapshot-worker) into the real PostgreSQL catalog; the source and its RPO
 * (PT1M) from {@link SchedulerStandIn}.
 */
@QuarkusTest
@WithTestResource(CatalogTestResource.class)
@WithTestResource(SchedulerStandIn.class)
class WalArchiveRpoTest {
    static final String SOURCE = SchedulerStandIn.PHYSICAL;
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
    void aPhysicalSourceMeetsItsRpoByItsWalArchiveLagUntilAGapIsReportedAndAnEarlierOwnerCannotHideIt() throws Throwable {
        rpo(SOURCE).statusCode(200).body("compliant", equalTo(false))
                .body("reason", containsString("no WAL archiver has reported"));

        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        kafka.publish(SOURCE, status(7, now, 2.5, false, null));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> rpo(SOURCE).statusCode(200)
                .body("walArchive.archivedLsn", equalTo("0/5000000")));
        rpo(SOURCE).body("compliant", equalTo(true))
                .body("rpo", equalTo("PT1M"))
                .body("walArchive.workerId", equalTo("worker-7"))
                .body("walArchive.lagSeconds", equalTo(2.5f))
                .body("walArchive.gap", equalTo(false))
                .body("reason", containsString("within the RPO PT1M of policy 'pol-p-minute'"));

        kafka.publish(SOURCE, status(7, now.plusSeconds(1), 1.0, true, "000000010000000000000003"));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> rpo(SOURCE).statusCode(200)
                .body("walArchive.gap", equalTo(true)));
        rpo(SOURCE).body("compliant", equalTo(false))
                .body("walArchive.firstMissingSegment", equalTo("000000010000000000000003"))
                .body("reason", containsString("segment 000000010000000000000003 is missing"));

        // a late report of the owner before (lower lease token) does not replace its successor's, however recent
        kafka.publish(SOURCE, status(6, now.plusSeconds(5), 0.0, false, null));
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(6)).until(() -> {
            var body = rpo(SOURCE).statusCode(200).extract().jsonPath();
            return "worker-7".equals(body.getString("walArchive.workerId")) && body.getBoolean("walArchive.gap");
        });
        // a new owner's report replaces it even when it was made earlier
        kafka.publish(SOURCE, status(8, now.plusSeconds(2), 0.5, true, "000000010000000000000003"));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> rpo(SOURCE).statusCode(200)
                .body("walArchive.workerId", equalTo("worker-8")));
        rpo(SOURCE).body("compliant", equalTo(false)).body("walArchive.gap", equalTo(true));

        // the per-source gauges say the same (the lag: 0.5 s reported plus the age of the report)
        VertxContextSupport.subscribeAndAwait(() -> fleetMetrics.refresh());
        Map<String, Double> m = RpoComplianceTest.metrics();
        String source = "{source=\"" + SOURCE + "\"}";
        assertThat(m).containsEntry("lifeboat_source_wal_archive_gap" + source, 1.0)
                .containsEntry("lifeboat_source_rpo_compliant" + source, 0.0)
                .containsEntry("lifeboat_source_rpo_seconds" + source, 60.0);
        assertThat(m.get("lifeboat_source_wal_archive_lag_seconds" + source)).isGreaterThanOrEqualTo(0.5);

        // an archive that refuses its server (another cluster under the source id) fails the RPO, saying why
        kafka.publish(SOURCE, new WalStatus(SOURCE, "worker-8", 8, 1, "0/5000000", now, "0/5001000", 4096L, 0.5,
                "000000010000000000000001", "000000010000000000000004", false, null, WalStatus.REFUSED,
                "refusing to archive WAL of source " + SOURCE + ": another cluster", now.plusSeconds(3)));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> rpo(SOURCE).statusCode(200)
                .body("walArchive.state", equalTo(WalStatus.REFUSED)));
        rpo(SOURCE).body("compliant", equalTo(false))
                .body("reason", containsString("refuses its server: refusing to archive WAL of source " + SOURCE));
    }

    @Test
    void aSourceThatLeavesTheFleetLosesItsRecoveryWindowSeries() throws Throwable {
        String gone = "rpo-departed-" + UUID.randomUUID().toString().substring(0, 8);
        String kept = "rpo-staying-" + UUID.randomUUID().toString().substring(0, 8);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        for (String source : List.of(gone, kept)) {
            kafka.publish(source, new WalStatus(source, "worker-1", 1, 1, "0/5000000", now, "0/5001000", 4096L, 0.5,
                    "000000010000000000000001", "000000010000000000000004", false, null, WalStatus.STREAMING, null,
                    now));
        }
        // an archiver's report makes a source physical and sets its window's series (NaN: no base backup yet)
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(RpoComplianceTest.metrics().keySet())
                .contains(windowSeries(gone), windowSeries(kept)));

        // every row of the source removed from the catalog (an operator's purge): the fleet no longer lists it
        Databases.execute(CatalogTestResource.DATABASE, "delete from catalog.wal_status where source_id = '" + gone
                + "'");
        VertxContextSupport.subscribeAndAwait(() -> fleetMetrics.refresh());
        Map<String, Double> m = RpoComplianceTest.metrics();
        assertThat(m).doesNotContainKey(windowSeries(gone))
                .doesNotContainKey("lifeboat_recovery_window_earliest_timestamp_seconds{source=\"" + gone + "\"}")
                .containsKey(windowSeries(kept));

        // it comes back with its next report
        kafka.publish(gone, new WalStatus(gone, "worker-1", 1, 1, "0/6000000", now.plusSeconds(1), "0/6001000",
                4096L, 0.5, "000000010000000000000001", "000000010000000000000005", false, null, WalStatus.STREAMING,
                null, now.plusSeconds(1)));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(RpoComplianceTest.metrics())
                .containsKey(windowSeries(gone)));
    }

    private static String windowSeries(String source) {
        return "lifeboat_recovery_window_latest_timestamp_seconds{source=\"" + source + "\"}";
    }

    private static WalStatus status(long token, Instant at, double lagSeconds, boolean gap, String missing) {
        return new WalStatus(SOURCE, "worker-" + token, token, 1, "0/5000000", at.minusMillis(500), "0/5001000",
                4096L, lagSeconds, "000000010000000000000001", gap ? "000000010000000000000002"
                : "000000010000000000000004", gap, missing, WalStatus.STREAMING, null, at);
    }
}
