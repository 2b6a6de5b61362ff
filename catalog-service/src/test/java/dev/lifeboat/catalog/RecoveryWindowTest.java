package dev.lifeboat.catalog;

import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.PhysicalBackupInfo;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.contracts.WalStatus;
import dev.lifeboat.contracts.recovery.RecoveryFinished;
import dev.lifeboat.contracts.recovery.RecoveryFinished.ClusterRestoreMeasure;
import dev.lifeboat.contracts.recovery.RecoveryFinished.StepOutcome;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.ValidatableResponse;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.nullValue;

/**
 * GET /api/v1/sources/{id}/recovery-window and /rto: base backups, their expiry, the WAL archiver's reports and
 * finished runs come through the real Kafka topics into the real PostgreSQL catalog and are read over HTTP.
 */
@QuarkusTest
@WithTestResource(CatalogTestResource.class)
class RecoveryWindowTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    static final String SEG_2 = "000000010000000000000002";
    static final String SEG_3 = "000000010000000000000003";
    static final String SEG_4 = "000000010000000000000004";
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
    void physicalWindowStartsAtTheOldestRetainedBaseBackupAndEndsAtTheArchiveOrBeforeItsGapWithAPredictedRto() {
        String source = TestBackups.newSource();
        Instant t0 = Instant.now().minusSeconds(3600).truncatedTo(ChronoUnit.SECONDS);
        TestBackups b0 = physical(source, t0, "0/2000028", "0/2000060", SEG_2);
        TestBackups b1 = physical(source, t0.plusSeconds(60), "0/2000100", "0/2000200", SEG_2);
        TestBackups b2 = physical(source, t0.plusSeconds(600), "0/4000028", "0/4000100", SEG_4);
        Instant archivedAt = t0.plusSeconds(1800);
        kafka.publish(source, wal(source, 1, archivedAt, false, SEG_4, null));

        await().atMost(WAIT).untilAsserted(() -> window(source).statusCode(200)
                .body("baseBackups", hasSize(3))
                .body("earliest.backupId", equalTo(b0.backupId())));
        window(source).body("method", equalTo("physical"))
                .body("continuous", equalTo(true))
                .body("earliest.lsn", equalTo("0/2000060"))
                .body("earliest.time", equalTo(t0.plusSeconds(4).toString()))
                .body("latest.lsn", equalTo("0/6000000"))
                .body("latest.time", equalTo(archivedAt.toString()))
                .body("gap", equalTo(false));
        rto(source).statusCode(200).body("predictedSeconds", nullValue())
                .body("reason", containsString("no succeeded run has restored a cluster of source '" + source + "'"))
                .body("inputs.backupId", equalTo(b2.backupId()))
                .body("inputs.walBytesToReplay", equalTo(0x6000000 - 0x4000028));

        // retention expires the oldest; a drill measures the rates; two hostile accounts of later runs must not count
        Map<TopicPartition, Long> dlqStart = TestKafka.endOffsets(Topics.DLQ);
        kafka.publish(source, new BackupsExpired("nightly", source, List.of(b0.backupId()), "GFS keep 2", t0));
        String drill = UUID.randomUUID().toString();
        kafka.publish(drill, cluster(drill, source, t0.plusSeconds(1000), 16_384_000, 2_000, 33_554_432, 4_000,
                1_500, 9_000));
        String absurd = UUID.randomUUID().toString();
        kafka.publish(absurd, cluster(absurd, source, t0.plusSeconds(2000), 1L << 45, 1, 0, 1, 1, 9_000));
        String negative = UUID.randomUUID().toString();
        kafka.publish(negative, cluster(negative, source, t0.plusSeconds(2000), 1_000, -5, 0, 1, 1, 9_000));

        await().atMost(WAIT).untilAsserted(() -> window(source).statusCode(200)
                .body("earliest.backupId", equalTo(b1.backupId())));
        window(source).body("earliest.lsn", equalTo("0/2000200")).body("baseBackups", hasSize(2));
        await().atMost(WAIT).untilAsserted(() -> rto(source).statusCode(200).body("rates.runId", equalTo(drill)));
        // 16384 B at 8.192 MB/s + 33554392 B of WAL at 8 MiB/s + 1.5 s start
        rto(source).body("predictedSeconds", equalTo(5.5f))
                .body("rates.fetchBytesPerSecond", equalTo(8_192_000.0f))
                .body("rates.replayBytesPerSecond", equalTo(8_388_608.0f))
                .body("rates.startSeconds", equalTo(1.5f))
                .body("inputs.backupBytes", equalTo(16384))
                .body("inputs.replayFromLsn", equalTo("0/4000028"))
                .body("inputs.replayToLsn", equalTo("0/6000000"))
                .body("lastDrill.runId", equalTo(drill))
                .body("lastDrill.measuredRtoSeconds", equalTo(9.0f))
                .body("rtoTargetSeconds", equalTo(600))
                .body("predictedWithinTarget", equalTo(true));
        given().auth().oauth2(Tokens.viewer()).get("/api/v1/recoveries/{id}", drill).then().statusCode(200)
                .body("clusterRestore.baseBytes", equalTo(16_384_000))
                .body("clusterRestore.replayMillis", equalTo(4_000))
                .body("clusterRestore.startMillis", equalTo(1_500));
        List<ConsumerRecord<String, String>> dead = TestKafka.read(dlqStart,
                r -> absurd.equals(r.key()) || negative.equals(r.key()), 2, WAIT);
        assertThat(dead).extracting(r -> EventCodec.header(r.headers(), "dead-letter-reason"))
                .satisfiesExactlyInAnyOrder(
                        reason -> assertThat(reason).startsWith("RecoveryFinished.clusterRestore: base fetch of "
                                + "baseBytes 35184372088832 in fetchMillis 1 is faster than"),
                        reason -> assertThat(reason).startsWith("event data fails schema "
                                + "dev.lifeboat.recovery.finished.v1").contains("fetchMillis"));

        // segment 4 goes missing: the window ends where segment 3 does, past the newest base backup's reach
        kafka.publish(source, wal(source, 1, archivedAt.plusSeconds(5), true, SEG_3, SEG_4));
        await().atMost(WAIT).untilAsserted(() -> window(source).statusCode(200).body("gap", equalTo(true)));
        window(source).body("continuous", equalTo(true))
                .body("earliest.backupId", equalTo(b1.backupId()))
                .body("latest.lsn", equalTo("0/4000000"))
                .body("latest.timeIsLowerBound", equalTo(true))
                .body("latest.time", equalTo(t0.plusSeconds(64).toString()))
                .body("firstMissingSegment", equalTo(SEG_4))
                .body("reason", containsString("WAL segment " + SEG_4 + " is missing"))
                .body("baseBackups.find { it.backupId == '" + b2.backupId() + "' }.inWindow", equalTo(false));
        String metrics = metrics();
        assertThat(gauge(metrics, "lifeboat_recovery_window_earliest_timestamp_seconds", source))
                .isEqualTo(t0.plusSeconds(64).getEpochSecond());
        assertThat(gauge(metrics, "lifeboat_recovery_window_latest_timestamp_seconds", source))
                .isEqualTo(t0.plusSeconds(64).getEpochSecond());
    }

    @Test
    void archiverReportsRefreshTheWindowGaugesAtMostOncePerIntervalAndAReadAlways() {
        String source = TestBackups.newSource();
        Instant t0 = Instant.now().minusSeconds(3600).truncatedTo(ChronoUnit.SECONDS);
        physical(source, t0, "0/2000028", "0/2000060", SEG_2);
        await().atMost(WAIT).untilAsserted(() -> rto(source).statusCode(200)
                .body("inputs.replayFromLsn", equalTo("0/2000028")));
        Instant first = t0.plusSeconds(1800);
        kafka.publish(source, wal(source, 1, first, false, SEG_4, null));
        // the first report sets the gauges, with no read of the window
        await().atMost(WAIT).untilAsserted(() -> assertThat(gauge(metrics(),
                "lifeboat_recovery_window_latest_timestamp_seconds", source)).isEqualTo(first.getEpochSecond()));

        Instant second = first.plusSeconds(60);
        double recorded = walStatusesRecorded();
        kafka.publish(source, new WalStatus(source, "worker-1", 1, 1, "0/6800000", second, "0/6801000", 4096L, 0.5,
                SEG_2, "000000010000000000000006", false, null, WalStatus.STREAMING, null, second));
        await().atMost(WAIT).untilAsserted(() -> rto(source).statusCode(200)
                .body("inputs.replayToLsn", equalTo("0/6800000")));
        // the consumer counts a report once the gauges' refresh, or the decision not to refresh, is behind it
        await().atMost(WAIT).untilAsserted(() -> assertThat(walStatusesRecorded()).isGreaterThan(recorded));
        // recorded, but within the refresh interval (10 min in the tests) of the first: the gauges stay
        assertThat(gauge(metrics(), "lifeboat_recovery_window_latest_timestamp_seconds", source))
                .isEqualTo(first.getEpochSecond());
        // a read of the window computes it, and sets them
        window(source).statusCode(200).body("latest.time", equalTo(second.toString()));
        assertThat(gauge(metrics(), "lifeboat_recovery_window_latest_timestamp_seconds", source))
                .isEqualTo(second.getEpochSecond());
    }

    @Test
    void aLogicalSourceHasBackupPointsOnlyAndItsRtoComesFromTheRestoreStepRate() {
        TestBackups b = TestBackups.full();
        Instant t0 = Instant.now().minusSeconds(600).truncatedTo(ChronoUnit.SECONDS);
        kafka.publish(b.sourceId(), b.snapshotCreated(t0));
        kafka.publish(b.sourceId(), b.completed(t0));
        await().atMost(WAIT).untilAsserted(() -> window(b.sourceId()).statusCode(200)
                .body("restorePoints", hasSize(1)));
        window(b.sourceId()).body("method", equalTo("logical"))
                .body("continuous", equalTo(false))
                .body("reason", containsString("backed up logically: it can be restored to its 1 backup point(s) only"))
                .body("restorePoints[0].backupId", equalTo(b.backupId()));
        rto(b.sourceId()).statusCode(200).body("predictedSeconds", nullValue())
                .body("reason", containsString("no succeeded run of source '" + b.sourceId() + "'"));

        Map<TopicPartition, Long> dlqStart = TestKafka.endOffsets(Topics.DLQ);
        String run = UUID.randomUUID().toString();
        kafka.publish(run, logicalRun(run, b, t0, 40_000, 32_000));
        // later runs whose restore step took negative time, or longer than the whole run: not measurements
        String negative = UUID.randomUUID().toString();
        kafka.publish(negative, logicalRun(negative, b, t0.plusSeconds(100), 40_000, -1));
        String longer = UUID.randomUUID().toString();
        kafka.publish(longer, logicalRun(longer, b, t0.plusSeconds(200), 40_000, 400_000));
        // the same backup restored again takes as long as it did: 16384 raw bytes at 512 B/s
        await().atMost(WAIT).untilAsserted(() -> rto(b.sourceId()).statusCode(200)
                .body("predictedSeconds", equalTo(32.0f)));
        List<ConsumerRecord<String, String>> dead = TestKafka.read(dlqStart,
                r -> negative.equals(r.key()) || longer.equals(r.key()), 2, WAIT);
        assertThat(dead).extracting(r -> EventCodec.header(r.headers(), "dead-letter-reason"))
                .containsExactlyInAnyOrder(
                        "RecoveryFinished.steps[0] (RestoreDatabase): durationMillis must not be negative, got -1",
                        "RecoveryFinished.steps[0] (RestoreDatabase): durationMillis 400000 is longer than the whole "
                                + "run's totalMillis 40000");
        rto(b.sourceId()).body("rates.runId", equalTo(run))
                .body("lastDrill.measuredRtoSeconds", equalTo(40.0f))
                .body("rtoTargetSeconds", equalTo(60))
                .body("predictedWithinTarget", equalTo(true));
        given().auth().oauth2(Tokens.viewer()).get("/api/v1/sources/{id}/rto", "src-never-seen").then()
                .statusCode(404).body("detail", containsString("knows no backup and no WAL archive"));
    }

    private static TestBackups physical(String source, Instant start, String startLsn, String stopLsn,
                                        String segment) {
        TestBackups b = TestBackups.full().ofSource(source);
        kafka.publish(source, b.snapshotCreated(start).withMethod(SnapshotCreated.PHYSICAL, new PhysicalBackupInfo(
                "7440891358716117040", "15", 1, startLsn, stopLsn, segment, start, start.plusSeconds(4))));
        kafka.publish(source, b.completed(start));
        return b;
    }

    private static RecoveryFinished logicalRun(String runId, TestBackups b, Instant start, long totalMillis,
                                               long restoreMillis) {
        return new RecoveryFinished(runId, "plan-l", "logical DR", RunMode.DRILL, RecoveryFinished.Status.SUCCEEDED,
                true, null, start, start.plusMillis(totalMillis), totalMillis, 60_000, true, 3600, true, b.sourceId(),
                b.backupId(), 60L, List.of(new StepOutcome(0, "RestoreDatabase", "COMPLETED", start,
                start.plusMillis(Math.max(0, restoreMillis)), restoreMillis, "restored")), null);
    }

    private static WalStatus wal(String source, long token, Instant at, boolean gap, String lastContiguous,
                                 String missing) {
        return new WalStatus(source, "worker-" + token, token, 1, "0/6000000", at, "0/6001000", 4096L, 0.5, SEG_2,
                lastContiguous, gap, missing, WalStatus.STREAMING, null, at);
    }

    private static RecoveryFinished cluster(String runId, String source, Instant start, long baseBytes,
                                            long fetchMillis, long walBytes, long replayMillis, long startMillis,
                                            long totalMillis) {
        return new RecoveryFinished(runId, "plan-p", "physical DR", RunMode.DRILL, RecoveryFinished.Status.SUCCEEDED,
                true, null, start, start.plusMillis(totalMillis), totalMillis, 600_000, true, 60, true, source,
                null, 60L, List.of(new StepOutcome(0, "RestoreCluster", "COMPLETED", start,
                start.plusMillis(totalMillis), totalMillis, "restored")),
                new ClusterRestoreMeasure(0, baseBytes, fetchMillis, 2L, walBytes, 3_000L, replayMillis, startMillis,
                        fetchMillis + replayMillis + startMillis));
    }

    /** The value of the gauge {@code name} of {@code source} in a Prometheus text exposition. */
    private static double gauge(String metrics, String name, String source) {
        return sample(metrics, name, "source", source)
                .orElseThrow(() -> new AssertionError("no gauge " + name + " of " + source));
    }

    /** lifeboat_catalog_events_total of WAL statuses: reports this instance recorded. */
    private static double walStatusesRecorded() {
        return sample(metrics(), "lifeboat_catalog_events_total", "type", EventType.WAL_STATUS.ceType()).orElse(0.0);
    }

    /** The sample of {@code name} whose label {@code label} is {@code value}, in a Prometheus text exposition. */
    private static Optional<Double> sample(String metrics, String name, String label, String value) {
        return metrics.lines()
                .filter(l -> l.startsWith(name + "{") && l.contains(label + "=\"" + value + "\""))
                // the value follows the labels; an exemplar (# {span_id=...} value time) may follow it
                .map(l -> Double.parseDouble(l.substring(l.indexOf("} ") + 2).split(" ")[0]))
                .findFirst();
    }

    private static String metrics() {
        return given().get("/q/metrics").then().statusCode(200).extract().asString();
    }

    static ValidatableResponse window(String source) {
        return given().auth().oauth2(Tokens.viewer()).get("/api/v1/sources/{id}/recovery-window", source).then();
    }

    static ValidatableResponse rto(String source) {
        return given().auth().oauth2(Tokens.viewer()).get("/api/v1/sources/{id}/rto", source).then();
    }
}
