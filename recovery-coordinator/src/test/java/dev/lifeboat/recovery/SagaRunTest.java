package dev.lifeboat.recovery;

import dev.lifeboat.testsupport.Tokens;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.recovery.ScriptedParticipant.Command;
import dev.lifeboat.recovery.domain.ActionResult;
import dev.lifeboat.recovery.domain.Run;
import dev.lifeboat.recovery.config.CoordinatorConfig;
import dev.lifeboat.recovery.messaging.CommandSender;
import dev.lifeboat.recovery.messaging.RunEventPublisher;
import dev.lifeboat.recovery.repository.PlanRepository;
import dev.lifeboat.recovery.repository.RunRepository;
import dev.lifeboat.recovery.service.LocalSteps;
import dev.lifeboat.recovery.service.RestoreTargets;
import io.opentelemetry.api.trace.Tracer;
import io.quarkus.arc.ClientProxy;
import io.quarkus.test.junit.QuarkusMock;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.recovery.repository.Db;
import dev.lifeboat.recovery.service.SagaEngine;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import dev.lifeboat.testsupport.LocalStack;
import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;

/**
 * Whole runs against the real Kafka and PostgreSQL. The participants (storage-worker, snapshot-worker) are played
 * by {@link ScriptedParticipant} on the real command and reply topics; RestartServices and NotifyStakeholders call a
 * real HTTP server on a free loopback port.
 */
@QuarkusTest
@WithTestResource(RecoveryTestResource.class)
class SagaRunTest {
    static final String BACKUP_ID = "0b9a3a5e-5d7e-4a4f-9d40-6c3f1f0f8a11";
    static TestHttpServer services;

    @Inject
    SagaEngine engine;
    @Inject
    Db db;
    @Inject
    CommandSender sender;
    @Inject
    RunRepository runs;
    @Inject
    PlanRepository plans;
    @Inject
    RunEventPublisher runEvents;
    @Inject
    LocalSteps localSteps;
    @Inject
    CoordinatorConfig coordinatorConfig;
    @Inject
    Tracer tracer;
    @Inject
    RestoreTargets restoreTargets;
    ScriptedParticipant participant;

    @BeforeAll
    static void servicesUp() {
        int port = ConfigProvider.getConfig().getValue(RecoveryTestResource.SERVICES_PORT, Integer.class);
        services = TestHttpServer.start(port).respond("/restart", 200, "{}").respond("/broken", 500, "{}")
                .respond("/hook", 200, "").redirect("/moved", 302, "http://127.0.0.1:9/elsewhere",
                        "secret-body-marker: follow me");
    }

    @AfterAll
    static void servicesDown() {
        services.stop();
    }

    @BeforeEach
    void participantUp() {
        participant = new ScriptedParticipant(LocalStack.ensureStarted()::kafkaClientConfig);
    }

    @AfterEach
    void participantDown() {
        participant.close();
    }

    private static String createPlan(String rto, List<Map<String, Object>> steps) {
        String id = Plans.uniqueId("dr");
        Plans.admin().contentType(ContentType.JSON).body(Plans.plan(id, rto, steps)).post("/api/v1/plans").then()
                .statusCode(201);
        return id;
    }

    private static String startRun(String planId, String mode) {
        return Plans.admin().contentType(ContentType.JSON).body(Map.of("mode", mode))
                .post("/api/v1/plans/" + planId + "/runs").then().statusCode(202)
                .header("Location", containsString("/api/v1/runs/")).extract().path("runId");
    }

    private static JsonPath awaitRun(String runId, String status) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() ->
                status.equals(Plans.admin().get("/api/v1/runs/" + runId).then().extract().path("status")));
        return Plans.admin().get("/api/v1/runs/" + runId).then().statusCode(200).extract().jsonPath();
    }

    private static Map<String, Object> backup(Instant completedAt) {
        return backupOf(RecoveryTestResource.SOURCE, "repo/" + RecoveryTestResource.SOURCE, completedAt);
    }

    private static Map<String, Object> backupOf(String sourceId, String repositoryPrefix, Instant completedAt) {
        return Map.of("backup", Map.of("backupId", BACKUP_ID, "sourceId", sourceId, "bucket", "lifeboat",
                "repositoryPrefix", repositoryPrefix, "chainId", "c-1",
                "manifestKey", repositoryPrefix + "/chains/c-1/manifests/" + BACKUP_ID + ".json",
                "completedAt", completedAt.toString(), "sizeBytes", 1000, "rawBytes", 4000,
                "verification", "VERIFIED"), "backupAgeSeconds", 60);
    }

    private static Map<String, Object> restored(String database) {
        return Map.of("database", database, "tables", List.of(Map.of("table", "public.orders", "rows", 1200)),
                "restoredBytes", 4000, "fetchMillis", 5, "pgRestoreMillis", 20, "totalMillis", 25);
    }

    private static String clusterTarget() {
        String target = Plans.uniqueId("clusters");
        Plans.admin().contentType(ContentType.JSON).body(Map.of("kind", "cluster", "dataRoot",
                "/var/lib/lifeboat/restores", "ports", "5433-5440")).put("/api/v1/targets/" + target).then()
                .statusCode(201);
        return target;
    }

    private static Map<String, Object> clusterDrill(String target) {
        return Map.of("kind", "RestoreCluster", "sourceId", RecoveryTestResource.SOURCE, "target", target,
                "cluster", "orders-pitr", "port", 5435, "drillAgo", "PT5M");
    }

    private static Map<String, Object> clusterChecks(boolean checksums) {
        return Map.of("kind", "VerifyIntegrity", "checksums", checksums, "checks", List.of(Map.of(
                "name", "orders-not-empty", "kind", "ROW_COUNT_AT_LEAST", "table", "public.orders", "minRows", 1,
                "database", "shop")));
    }

    @Test
    void physicalDrillRestoresFromABaseBackupConsistentByItsTargetChecksTheClusterAndReportsWhatTheRestoreTook()
            throws Exception {
        String target = clusterTarget();
        String planId = createPlan("PT10M", List.of(clusterDrill(target), clusterChecks(true),
                Plans.notify(services.baseUrl() + "/hook")));
        KafkaConsumer<String, String> lifecycle = lifecycleConsumer();
        String runId = startRun(planId, "drill");
        String scratch = "drill_" + runId.replace("-", "").substring(0, 8) + "_0";

        Command prepare = participant.next(runId);
        assertThat(prepare.type()).isEqualTo(EventType.PREPARE_RESTORE);
        @SuppressWarnings("unchecked")
        Map<String, Object> consistentBy = (Map<String, Object>) prepare.data().get("recoveryTarget");
        assertThat(consistentBy).as("storage-worker picks a base backup consistent by the drill's target")
                .containsEntry("kind", "TIME");
        assertThat(prepare.data().get("maxAgeSeconds")).as("the archived WAL, not the base backup's age, is the RPO")
                .isNull();
        participant.completed(prepare, backup(Instant.now().minusSeconds(60)));

        Command restore = participant.next(runId);
        assertThat(restore.type()).isEqualTo(EventType.RESTORE_CLUSTER);
        assertThat(restore.commandId()).isEqualTo(runId + ":0:restore-cluster");
        assertThat(restore.data().get("target")).asString().contains("name=" + scratch).contains("port=5435")
                .contains("dataRoot=/var/lib/lifeboat/restores");
        assertThat(restore.data().get("backup")).asString().contains("backupId=" + BACKUP_ID);
        @SuppressWarnings("unchecked")
        Map<String, Object> recoveryTarget = (Map<String, Object>) restore.data().get("recoveryTarget");
        assertThat(recoveryTarget).isEqualTo(consistentBy).containsEntry("kind", "TIME");
        assertThat(Duration.between(Instant.parse((String) recoveryTarget.get("value")), Instant.now()))
                .as("the drill's start minus drillAgo").isBetween(Duration.ofMinutes(5), Duration.ofMinutes(6));
        // the worker answers once the cluster was promoted: replay is inside the step, so inside the RTO
        Thread.sleep(400);
        Map<String, Object> measured = new java.util.LinkedHashMap<>();
        measured.putAll(Map.of("host", "127.0.0.1", "port", 5435, "baseBytes", 52_428_800L, "fetchMillis", 40,
                "walFilesFetched", 3, "walBytesFetched", 50_331_648L, "walFetchMillis", 120, "replayMillis", 300,
                "startMillis", 20, "totalMillis", 400));
        participant.completed(restore, measured);

        Command verifyBackup = participant.next(runId);
        assertThat(verifyBackup.type()).as("checksums of the base backup").isEqualTo(EventType.VERIFY_BACKUP);
        assertThat(verifyBackup.data().get("backup")).asString().contains("backupId=" + BACKUP_ID);
        participant.completed(verifyBackup, Map.of("ok", true, "chunks", 12, "problems", List.of()));

        Command verify = participant.next(runId);
        assertThat(verify.type()).isEqualTo(EventType.VERIFY_DATABASE);
        assertThat(verify.data().get("target")).as("no database target: the restored cluster").isNull();
        assertThat(verify.data().get("cluster")).asString().contains("name=" + scratch).contains("port=5435");
        assertThat(verify.data().get("checks")).asString().contains("database=shop");
        participant.completed(verify, Map.of("checks", List.of(Map.of("name", "orders-not-empty", "passed", true))));

        Command remove = participant.next(runId);
        assertThat(remove.type()).as("scratch cluster removed after the last step").isEqualTo(EventType.REMOVE_CLUSTER);
        assertThat(remove.commandId()).isEqualTo(runId + ":0:remove-cluster");
        assertThat(remove.data().get("target")).asString().contains("name=" + scratch);
        participant.completed(remove, Map.of("removed", true));

        JsonPath run = awaitRun(runId, "SUCCEEDED");
        assertThat(run.getList("steps.status")).containsExactly("SUCCEEDED", "SUCCEEDED", "SUCCEEDED");
        assertThat(run.getInt("steps[0].details.restore-cluster.replayMillis")).isEqualTo(300);
        assertThat(run.getLong("result.totalMillis")).as("the RTO includes the restore's replay")
                .isGreaterThanOrEqualTo(400);
        assertThat(services.requests("/hook")).as("stakeholders notified before cleanup").isNotEmpty();

        JsonNode finished = finishedEvent(lifecycle, runId);
        JsonNode measure = finished.path("clusterRestore");
        assertThat(measure.path("step").asInt()).isZero();
        assertThat(measure.path("baseBytes").asLong()).isEqualTo(52_428_800L);
        assertThat(measure.path("fetchMillis").asLong()).isEqualTo(40);
        assertThat(measure.path("walFiles").asLong()).isEqualTo(3);
        assertThat(measure.path("walBytes").asLong()).isEqualTo(50_331_648L);
        assertThat(measure.path("walFetchMillis").asLong()).isEqualTo(120);
        assertThat(measure.path("replayMillis").asLong()).isEqualTo(300);
        assertThat(measure.path("startMillis").asLong()).isEqualTo(20);
        assertThat(measure.path("totalMillis").asLong()).isEqualTo(400);
        assertThat(finished.path("totalMillis").asLong()).isGreaterThanOrEqualTo(400);
    }

    @Test
    void aFailedCheckOnTheRestoredClusterRemovesItAndPlansCannotCompareItWithFingerprints() throws Exception {
        String target = clusterTarget();
        Plans.admin().contentType(ContentType.JSON).body(Plans.plan(Plans.uniqueId("dr"), "PT10M", List.of(
                clusterDrill(target), Map.of("kind", "VerifyIntegrity", "checks", List.of(
                        Map.of("name", "same", "kind", "TABLE_MATCHES_SOURCE", "table", "public.orders",
                                "database", "shop"),
                        Map.of("name", "nowhere", "kind", "ROW_COUNT_AT_LEAST", "table", "public.orders",
                                "minRows", 1))))))
                .post("/api/v1/plans").then().statusCode(400)
                .body("detail", containsString("steps[1].checks[0]: TABLE_MATCHES_SOURCE compares with table "
                        + "fingerprints a logical backup records; a physical base backup records none"))
                .body("detail", containsString("steps[1].checks[1].database: required"));

        String planId = createPlan("PT10M", List.of(clusterDrill(target), clusterChecks(false)));
        KafkaConsumer<String, String> lifecycle = lifecycleConsumer();
        String runId = startRun(planId, "drill");
        participant.completed(participant.next(runId), backup(Instant.now()));
        participant.completed(participant.next(runId), Map.of("host", "127.0.0.1", "port", 5435, "fetchMillis", 40,
                "replayMillis", 300, "startMillis", 20, "totalMillis", 400));
        Command verify = participant.next(runId);
        assertThat(verify.type()).isEqualTo(EventType.VERIFY_DATABASE);
        participant.reply(verify, StepReply.Outcome.FAILED, "1 of 1 checks failed on the restored cluster: "
                + "orders-not-empty (public.orders has 0 rows, fewer than 1)", Map.of("checks", List.of(
                Map.of("name", "orders-not-empty", "passed", false, "actual", "0"))));

        Command remove = participant.next(runId);
        assertThat(remove.type()).as("compensation of the restore").isEqualTo(EventType.REMOVE_CLUSTER);
        assertThat(remove.commandId()).isEqualTo(runId + ":0:remove-cluster");
        participant.completed(remove, Map.of("removed", true));

        JsonPath run = awaitRun(runId, "COMPENSATED");
        assertThat(run.getString("reason")).contains("step 1 (VerifyIntegrity)").contains("orders-not-empty");
        assertThat(run.getList("steps.status")).containsExactly("COMPENSATED", "FAILED");
        JsonNode finished = finishedEvent(lifecycle, runId);
        assertThat(finished.path("status").asText()).isEqualTo("COMPENSATED");
        assertThat(finished.path("clusterRestore").path("replayMillis").asLong())
                .as("what the restore took, even when a check failed after it").isEqualTo(300);
        assertThat(finished.path("clusterRestore").path("walFiles").isNumber()).as("not reported").isFalse();
    }

    @Test
    void aRemovalAnsweredByAnotherWorkerThanTheRestorerThatFoundNothingFailsNamingWhereTheClusterRuns()
            throws Exception {
        String target = clusterTarget();
        String planId = createPlan("PT10M", List.of(clusterDrill(target), clusterChecks(false)));
        String runId = startRun(planId, "drill");
        participant.completed(participant.next(runId), backup(Instant.now()));
        Command restore = participant.next(runId);
        Map<String, Object> restored = new java.util.LinkedHashMap<>(Map.of("host", "127.0.0.1", "port", 5435,
                "dataDirectory", "/var/lib/lifeboat/restores/dr-a", "fetchMillis", 40, "replayMillis", 300,
                "startMillis", 20, "totalMillis", 400));
        restored.putAll(Map.of("worker", "snapshot-worker/a", "workerHost", "host-a"));
        participant.replyAs("snapshot-worker", restore, "snapshot-worker/a", StepReply.Outcome.COMPLETED, "restored",
                restored);
        // the commands' partition moved: the check and the removal reach worker b, which has no such cluster
        Command verify = participant.next(runId);
        participant.replyAs("snapshot-worker", verify, "snapshot-worker/b", StepReply.Outcome.FAILED,
                "no restored cluster listens on the private socket", Map.of());
        Command remove = participant.next(runId);
        assertThat(remove.type()).isEqualTo(EventType.REMOVE_CLUSTER);
        participant.replyAs("snapshot-worker", remove, "snapshot-worker/b", StepReply.Outcome.COMPLETED,
                "did not exist", Map.of("removed", false, "worker", "snapshot-worker/b", "workerHost", "host-b"));

        JsonPath run = awaitRun(runId, "FAILED");
        assertThat(run.getString("reason")).contains("compensation incomplete")
                .contains("restored by snapshot-worker/a on host host-a")
                .contains("the removal reached snapshot-worker/b (host host-b), which has no such cluster")
                .contains("may still run there on port 5435")
                .contains("pg_ctl stop -D /var/lib/lifeboat/restores/dr-a -m immediate");

        // the same worker finding nothing (removed by hand meanwhile) is no problem
        String again = startRun(planId, "drill");
        participant.completed(participant.next(again), backup(Instant.now()));
        participant.replyAs("snapshot-worker", participant.next(again), "snapshot-worker/a",
                StepReply.Outcome.COMPLETED, "restored", restored);
        participant.replyAs("snapshot-worker", participant.next(again), "snapshot-worker/a",
                StepReply.Outcome.FAILED, "1 of 1 checks failed", Map.of());
        participant.replyAs("snapshot-worker", participant.next(again), "snapshot-worker/a",
                StepReply.Outcome.COMPLETED, "did not exist", Map.of("removed", false, "worker", "snapshot-worker/a",
                        "workerHost", "host-a"));
        assertThat(awaitRun(again, "COMPENSATED").getString("reason")).doesNotContain("compensation incomplete");
    }

    /** The run's RecoveryFinished as published on the recovery events topic. */
    private static JsonNode finishedEvent(KafkaConsumer<String, String> lifecycle, String runId) throws Exception {
        List<String> found = new ArrayList<>();
        await().atMost(Duration.ofSeconds(15)).until(() -> {
            for (ConsumerRecord<String, String> r : lifecycle.poll(Duration.ofMillis(200))) {
                if (runId.equals(r.key()) && EventCodec.decode(r.headers(), r.value()).id()
                        .equals(runId + ":finished")) {
                    found.add(r.value());
                }
            }
            return !found.isEmpty();
        });
        lifecycle.close();
        return EventCodec.mapper().readTree(found.getFirst());
    }

    @Test
    void drillRunsEveryStepWithinRtoAndDropsTheScratchDatabase() throws Exception {
        String planId = createPlan("PT10M", List.of(Plans.restore("orders_restored"), Plans.verify(true),
                Plans.restart(services.baseUrl() + "/restart", 0), Plans.notify(services.baseUrl() + "/hook")));
        String runId = startRun(planId, "drill");
        String scratch = "drill_" + runId.replace("-", "").substring(0, 8) + "_0";

        Command prepare = participant.next(runId);
        assertThat(prepare.type()).isEqualTo(EventType.PREPARE_RESTORE);
        assertThat(prepare.commandId()).isEqualTo(runId + ":0:prepare");
        assertThat(prepare.data()).containsEntry("sourceId", "orders").containsEntry("maxAgeSeconds", 86400);
        String traceId = Plans.admin().get("/api/v1/runs/" + runId).then().extract().path("traceId");
        assertThat(prepare.traceparent()).as("command joins the run's trace").contains(traceId);
        participant.completed(prepare, backup(Instant.now().minusSeconds(60)));

        Command restore = participant.next(runId);
        assertThat(restore.type()).isEqualTo(EventType.RESTORE_DATABASE);
        assertThat(restore.data().get("target")).asString().contains("database=" + scratch)
                .as("the registered server's name, by which snapshot-worker reads it again")
                .contains("server=" + Plans.TARGET);
        assertThat(restore.data().get("backup")).asString().contains("backupId=" + BACKUP_ID);
        assertThat(restore.traceparent()).contains(traceId);
        participant.completed(restore, restored(scratch));

        Command verifyBackup = participant.next(runId);
        assertThat(verifyBackup.type()).isEqualTo(EventType.VERIFY_BACKUP);
        participant.completed(verifyBackup, Map.of("ok", true, "chunks", 12, "problems", List.of()));

        Command verifyDatabase = participant.next(runId);
        assertThat(verifyDatabase.type()).isEqualTo(EventType.VERIFY_DATABASE);
        assertThat(verifyDatabase.data().get("target")).asString().contains("database=" + scratch);
        participant.completed(verifyDatabase, Map.of("checks", List.of(Map.of("name", "orders-not-empty",
                "kind", "ROW_COUNT_AT_LEAST", "passed", true, "actual", "1200"))));

        Command drop = participant.next(runId);
        assertThat(drop.type()).as("scratch database dropped after the last step").isEqualTo(EventType.DROP_DATABASE);
        assertThat(drop.commandId()).isEqualTo(runId + ":0:drop");
        assertThat(drop.data().get("target")).asString().contains("database=" + scratch)
                .contains("server=" + Plans.TARGET);
        assertThat(services.requests("/restart")).hasSize(1);
        assertThat(services.requests("/hook")).as("stakeholders notified before cleanup").hasSize(1);
        participant.completed(drop, Map.of("dropped", true));

        JsonPath run = awaitRun(runId, "SUCCEEDED");
        assertThat(run.getBoolean("result.success")).isTrue();
        assertThat(run.getBoolean("result.rtoMet")).isTrue();
        assertThat(run.getBoolean("result.rpoMet")).isTrue();
        assertThat(run.getLong("result.backupAgeSeconds")).isBetween(50L, 70L);
        assertThat(run.getString("result.backupId")).isEqualTo(BACKUP_ID);
        assertThat(run.getList("steps.status")).containsExactly("SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED");
        assertThat(run.getList("steps.durationMillis")).doesNotContainNull();
        assertThat(run.getInt("steps[0].details.restore.tables[0].rows")).isEqualTo(1200);
        assertThat(run.getBoolean("steps[1].details.verify-database.checks[0].passed")).isTrue();
        assertThat(run.getString("steps[0].details.cleanup.message")).isNotNull();
        assertThat(run.getLong("result.totalMillis")).isPositive();

        JsonNode summary = EventCodec.mapper().readTree(services.requests("/hook").getFirst().body());
        assertThat(summary.path("runId").asText()).isEqualTo(runId);
        assertThat(summary.path("plan").path("id").asText()).isEqualTo(planId);
        assertThat(summary.path("mode").asText()).isEqualTo("DRILL");
        assertThat(summary.path("rtoMet").asBoolean()).isTrue();
        assertThat(summary.path("rpoMet").asBoolean()).isTrue();
        assertThat(summary.path("backup").path("backupId").asText()).isEqualTo(BACKUP_ID);
        assertThat(summary.path("steps").get(0).path("durationMillis").asLong()).isGreaterThanOrEqualTo(0);
        assertThat(participant.drain(runId, Duration.ofSeconds(1))).isEmpty();
    }

    @Test
    void aParticipantReadsBackEachCommandAsSentWhileTheRunWaitsForItAndOnlyThen() {
        String planId = createPlan("PT10M", List.of(Plans.restore("orders_restored")));
        String runId = startRun(planId, "drill");
        Command prepare = participant.next(runId);
        // what a participant's service token (lifeboat-viewer) reads before acting on a command it received
        JsonPath awaited = Plans.as(Tokens.viewer()).queryParam("commandId", prepare.commandId())
                .get("/api/v1/runs/" + runId + "/commands").then().statusCode(200).extract().jsonPath();
        assertThat(awaited.getBoolean("awaited")).isTrue();
        assertThat(awaited.getString("type")).isEqualTo("PREPARE_RESTORE");
        assertThat(awaited.getInt("step")).isZero();
        assertThat(awaited.getMap("command")).as("the command exactly as sent on the commands topic")
                .isEqualTo(prepare.data());
        participant.completed(prepare, backup(Instant.now().minusSeconds(60)));

        Command restore = participant.next(runId);
        JsonPath answered = Plans.as(Tokens.viewer()).queryParam("commandId", prepare.commandId())
                .get("/api/v1/runs/" + runId + "/commands").then().statusCode(200).extract().jsonPath();
        assertThat(answered.getBoolean("awaited")).as("answered: nothing waits for it any more").isFalse();
        assertThat(answered.getMap("command")).as("still shown as sent").isEqualTo(prepare.data());
        assertThat(Plans.as(Tokens.viewer()).queryParam("commandId", restore.commandId())
                .get("/api/v1/runs/" + runId + "/commands").then().statusCode(200).extract().jsonPath()
                .getMap("command")).isEqualTo(restore.data());
        // as a coordinator of before sent_commands left it (a rolling upgrade): the run's own copy while awaited
        db.tx(c -> {
            try (var ps = c.prepareStatement("delete from sent_commands where command_id = ?")) {
                ps.setString(1, restore.commandId());
                return ps.executeUpdate();
            }
        });
        JsonPath legacy = Plans.as(Tokens.viewer()).queryParam("commandId", restore.commandId())
                .get("/api/v1/runs/" + runId + "/commands").then().statusCode(200).extract().jsonPath();
        assertThat(legacy.getBoolean("awaited")).isTrue();
        assertThat(legacy.getMap("command")).isEqualTo(restore.data());
        // commands never sent: another step, another run, the coordinator's own action
        for (String id : List.of(runId + ":7:restore", runId + ":0:verify-database")) {
            Plans.as(Tokens.viewer()).queryParam("commandId", id).get("/api/v1/runs/" + runId + "/commands").then()
                    .statusCode(404).body("title", org.hamcrest.Matchers.equalTo("Command Not Sent"))
                    .body("detail", containsString("sent no command"));
        }
        String otherRun = java.util.UUID.randomUUID().toString();
        Plans.as(Tokens.viewer()).queryParam("commandId", restore.commandId())
                .get("/api/v1/runs/" + otherRun + "/commands").then().statusCode(404);
        Plans.as(Tokens.viewer()).queryParam("commandId", "x'; drop table runs; --")
                .get("/api/v1/runs/" + runId + "/commands").then().statusCode(400);
        Plans.as(Tokens.viewer()).get("/api/v1/runs/" + runId + "/commands").then().statusCode(400)
                .body(containsString("commandId is required"));
        participant.completed(restore, restored("x"));
        participant.completed(participant.next(runId), Map.of("dropped", true));
        awaitRun(runId, "SUCCEEDED");
    }

    @Test
    void oneMillisecondRtoIsReportedMissed() {
        String planId = createPlan("PT0.001S", List.of(Plans.restore("orders_restored")));
        String runId = startRun(planId, "drill");
        participant.completed(participant.next(runId), backup(Instant.now().minusSeconds(5)));
        Command restore = participant.next(runId);
        participant.completed(restore, restored("x"));
        participant.completed(participant.next(runId), Map.of("dropped", true));
        JsonPath run = awaitRun(runId, "SUCCEEDED");
        assertThat(run.getBoolean("result.success")).isTrue();
        assertThat(run.getBoolean("result.rtoMet")).isFalse();
        assertThat(run.getLong("result.rtoMillis")).isEqualTo(1);
    }

    @Test
    void aPrepareRestoreReplyNamingAnotherSourcesBackupFailsTheRunAndNothingIsRestored() {
        String planId = createPlan("PT10M", List.of(Plans.restore("orders_restored"), Plans.verify(false)));
        String runId = startRun(planId, "drill");
        Command prepare = participant.next(runId);
        assertThat(prepare.type()).isEqualTo(EventType.PREPARE_RESTORE);
        // a reply on the shared replies topic that names a backup of another source, in that source's repository
        participant.completed(prepare, backupOf("payroll", "repo/payroll", Instant.now()));

        JsonPath run = awaitRun(runId, "COMPENSATED");
        assertThat(run.getString("reason")).contains("step 0 (RestoreDatabase)").contains("reply refused")
                .contains("backup " + BACKUP_ID + " of source payroll, not of the step's source orders");
        assertThat(run.getList("steps.status")).first().isNotEqualTo("SUCCEEDED");
        for (Command c : participant.drain(runId, Duration.ofSeconds(2))) {
            assertThat(c.type()).as("no restore is sent").isNotEqualTo(EventType.RESTORE_DATABASE);
        }
    }

    @Test
    void aPrepareRestoreReplyPlacingTheBackupInAnotherSourcesRepositoryFailsTheRun() {
        String planId = createPlan("PT10M", List.of(Plans.restore("orders_restored"), Plans.verify(false)));
        String runId = startRun(planId, "recovery");
        participant.completed(participant.next(runId), backupOf(RecoveryTestResource.SOURCE, "repo/payroll",
                Instant.now()));

        JsonPath run = awaitRun(runId, "FAILED");
        assertThat(run.getString("reason")).contains("reply refused").contains("repository 'repo/payroll'")
                .contains("not the repository of source orders");
    }

    @Test
    void aReplyFromAnotherServiceThanTheCommandWentToIsIgnored() {
        String planId = createPlan("PT10M", List.of(Plans.restore("orders_restored"), Plans.verify(false)));
        String runId = startRun(planId, "recovery");
        Command prepare = participant.next(runId);
        participant.replyAs("snapshot-worker", prepare, "snapshot-worker/test", StepReply.Outcome.COMPLETED,
                "prepared", backup(Instant.now()));
        // what a reply says of its sender counts for nothing: it came on snapshot-worker's topic
        participant.replyAs("snapshot-worker", prepare, "storage-worker/forged", StepReply.Outcome.COMPLETED,
                "prepared", backup(Instant.now()));
        assertThat(participant.drain(runId, Duration.ofSeconds(3))).as("the run still waits for storage-worker")
                .isEmpty();

        participant.completed(prepare, backup(Instant.now()));
        assertThat(participant.next(runId).type()).isEqualTo(EventType.RESTORE_DATABASE);
    }

    @Test
    void failedDatabaseCheckCompensatesTheDrillAndNamesTheCheck() {
        String planId = createPlan("PT10M", List.of(Plans.restore("orders_restored"), Plans.verify(false)));
        String runId = startRun(planId, "drill");
        participant.completed(participant.next(runId), backup(Instant.now()));
        participant.completed(participant.next(runId), restored("x"));
        Command verify = participant.next(runId);
        assertThat(verify.type()).isEqualTo(EventType.VERIFY_DATABASE);
        participant.reply(verify, StepReply.Outcome.FAILED, "check orders-not-empty failed: public.orders has 0 rows",
                Map.of("checks", List.of(Map.of("name", "orders-not-empty", "passed", false, "actual", "0"))));

        Command drop = participant.next(runId);
        assertThat(drop.type()).as("compensation of the restore").isEqualTo(EventType.DROP_DATABASE);
        assertThat(awaitStatusNow(runId)).isEqualTo("COMPENSATING");
        participant.completed(drop, Map.of("dropped", true));

        JsonPath run = awaitRun(runId, "COMPENSATED");
        assertThat(run.getString("reason")).contains("step 1 (VerifyIntegrity)").contains("orders-not-empty");
        assertThat(run.getString("result.reason")).contains("orders-not-empty");
        assertThat(run.getBoolean("result.success")).isFalse();
        assertThat(run.getList("steps.status")).containsExactly("COMPENSATED", "FAILED");
    }

    @Test
    void restartEndpointAnswering500FailsAfterItsRetries() {
        String planId = createPlan("PT10M", List.of(Plans.restart(services.baseUrl() + "/broken", 2)));
        int before = services.requests("/broken").size();
        KafkaConsumer<String, String> lifecycle = lifecycleConsumer();
        String runId = startRun(planId, "recovery");
        JsonPath run = awaitRun(runId, "FAILED");
        assertThat(run.getString("reason")).contains("step 0 (RestartServices)").contains("answered 500")
                .contains("after 3 attempts");
        assertThat(services.requests("/broken").size() - before).isEqualTo(3);
        assertThat(run.getInt("steps[0].details.restart.calls[0].attempts")).isEqualTo(3);

        List<String> eventIds = new ArrayList<>();
        await().atMost(Duration.ofSeconds(15)).until(() -> {
            for (ConsumerRecord<String, String> r : lifecycle.poll(Duration.ofMillis(200))) {
                if (runId.equals(r.key())) {
                    eventIds.add(EventCodec.decode(r.headers(), r.value()).id());
                }
            }
            return eventIds.size() >= 2;
        });
        lifecycle.close();
        // at-least-once: a re-sent event keeps its id, which is what readers dedupe on
        assertThat(eventIds.stream().distinct()).containsExactly(runId + ":started", runId + ":finished");
    }

    @Test
    void resumeResendsThePendingCommandWithTheSameCommandId() {
        String planId = createPlan("PT10M", List.of(Plans.restore("orders_restored")));
        String runId = startRun(planId, "recovery");
        Command prepare = participant.next(runId);
        // what a restarted coordinator does on its first tick, here on the running one
        engine.resume();
        Command again = participant.next(runId);
        assertThat(again.type()).isEqualTo(EventType.PREPARE_RESTORE);
        assertThat(again.commandId()).isEqualTo(prepare.commandId());
        assertThat(deadline(again)).as("the re-sent command carries the run's fresh deadline")
                .isAfter(deadline(prepare));
        participant.completed(prepare, backup(Instant.now()));
        participant.completed(again, backup(Instant.now()));
        participant.completed(participant.next(runId), restored("orders_restored"));
        JsonPath run = awaitRun(runId, "SUCCEEDED");
        assertThat(run.getList("transitions.note").stream().map(String::valueOf)
                .filter(n -> n.startsWith("resumed"))).hasSize(1);
        assertThat(participant.drain(runId, Duration.ofSeconds(1))).isEmpty();
    }

    @Test
    void aCommandWhoseSendFailedIsSentAgainWhileItIsStillTheRunsPendingOne() {
        // the real sender, behind one that fails each command's first send, as an unreachable broker would
        CommandSender real = ClientProxy.unwrap(sender);
        Set<String> failedOnce = ConcurrentHashMap.newKeySet();
        QuarkusMock.installMockForType(new CommandSender() {
            @Override
            public void send(String runId, String traceparent, Run.Pending pending) {
                if (failedOnce.add(pending.commandId())) {
                    throw new IllegalStateException("broker unreachable (injected by the test)");
                }
                real.send(runId, traceparent, pending);
            }
        }, CommandSender.class);
        String planId = createPlan("PT10M", List.of(Plans.restore("orders_restored")));
        String runId = startRun(planId, "recovery");
        // the step's deadline is ten minutes away: only the re-send brings the command within seconds
        Command prepare = participant.next(runId);
        assertThat(failedOnce).contains(prepare.commandId());
        participant.completed(prepare, backup(Instant.now()));
        Command restore = participant.next(runId);
        assertThat(failedOnce).contains(restore.commandId());
        participant.completed(restore, restored("orders_restored"));
        awaitRun(runId, "SUCCEEDED");
        assertThat(participant.drain(runId, Duration.ofSeconds(1))).as("each command is sent once it can be, once")
                .isEmpty();
    }

    private KafkaConsumer<String, String> lifecycleConsumer() {
        Properties c = new Properties();
        c.putAll(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN));
        c.put("key.deserializer", StringDeserializer.class.getName());
        c.put("value.deserializer", StringDeserializer.class.getName());
        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c);
        List<TopicPartition> partitions = consumer.partitionsFor(Topics.RECOVERY_EVENTS).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position);
        return consumer;
    }

    @Test
    void stepWithoutReplyTimesOutAndLateReplyIsIgnored() {
        Map<String, Object> restore = Plans.restore("orders_restored");
        restore.put("timeout", "PT1S");
        String planId = createPlan("PT10M", List.of(restore));
        Instant sent = Instant.now();
        String runId = startRun(planId, "drill");
        Command prepare = participant.next(runId);
        assertThat(deadline(prepare)).as("the command carries when the run stops waiting for it")
                .isBetween(sent.plusSeconds(1).minusMillis(500), Instant.now().plusSeconds(1));
        JsonPath run = awaitRun(runId, "COMPENSATED");
        assertThat(run.getString("reason")).contains("step 0 (RestoreDatabase)").contains("timed out after PT1S")
                .contains("prepare");
        participant.completed(prepare, backup(Instant.now()));
        assertThat(participant.drain(runId, Duration.ofSeconds(2))).as("late reply starts nothing").isEmpty();
        assertThat(Plans.admin().get("/api/v1/runs/" + runId).then().extract().<String>path("status"))
                .isEqualTo("COMPENSATED");
    }

    @Test
    void restoreThatSucceedsAfterItsStepTimedOutIsDroppedAndRecordedOnTheRun() {
        String planId = createPlan("PT10M", List.of(Plans.restore("orders_late")));
        String runId = startRun(planId, "recovery");
        participant.completed(participant.next(runId), backup(Instant.now()));
        Command restore = participant.next(runId);
        assertThat(restore.type()).isEqualTo(EventType.RESTORE_DATABASE);
        // the restore's deadline passes while the worker still restores
        db.tx(c -> {
            try (var ps = c.prepareStatement("update runs set deadline = now() - interval '1 second' where id = ?")) {
                ps.setString(1, runId);
                return ps.executeUpdate();
            }
        });
        engine.timeouts();
        assertThat(awaitRun(runId, "FAILED").getString("reason")).contains("timed out");
        // a second timer that found the step due as well (another instance's, or the next tick's) times it out again
        // after the first: that is no reply, and must not use up the participant's late reply below
        engine.complete(runId, restore.commandId(), new ActionResult.Outcome(false, "timed out again",
                new ActionResult.TimedOut()), "timeout");

        // storage-worker's late "failure" of snapshot-worker's restore counts for nothing: taken, it would have used
        // up the late reply and left the database behind
        participant.replyAs("storage-worker", restore, "snapshot-worker/forged", StepReply.Outcome.FAILED,
                "forged", Map.of());
        // (on another topic than the real reply below, so it is given time to be read first)
        assertThat(participant.drain(runId, Duration.ofSeconds(2))).isEmpty();
        // the worker started before the deadline and finished after it: the database exists now
        participant.completed(restore, restored("orders_late"));

        Command drop = participant.next(runId);
        assertThat(drop.type()).isEqualTo(EventType.DROP_DATABASE);
        assertThat(drop.step()).isZero();
        assertThat(drop.data().get("target")).asString().contains("database=orders_late");
        // nor does its answer to the drop, which went to snapshot-worker
        participant.replyAs("storage-worker", drop, "snapshot-worker/forged", StepReply.Outcome.COMPLETED, "forged",
                Map.of("dropped", true));
        assertThat(participant.drain(runId, Duration.ofSeconds(2))).isEmpty();
        participant.completed(drop, Map.of("dropped", true));
        participant.completed(restore, restored("orders_late"));
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> Plans.admin()
                .get("/api/v1/runs/" + runId).then().extract().jsonPath().getList("transitions.note").stream()
                .map(String::valueOf).anyMatch(n -> n.startsWith("late compensation of step 0 done")));

        JsonPath run = Plans.admin().get("/api/v1/runs/" + runId).then().statusCode(200).extract().jsonPath();
        assertThat(run.getString("status")).as("the run's outcome stands").isEqualTo("FAILED");
        assertThat(run.getList("transitions.note").stream().map(String::valueOf)
                .filter(n -> n.startsWith("late reply for step 0 after timeout"))).as("once, the duplicate ignored")
                .singleElement().asString().contains("compensated").contains("orders_late");
        assertThat(run.getList("transitions.note").stream().map(String::valueOf)
                .filter(n -> n.startsWith("late compensation of step 0"))).as("snapshot-worker's answer to the drop")
                .singleElement().asString().contains("reply from snapshot-worker/test");
        assertThat(participant.drain(runId, Duration.ofSeconds(2))).as("one drop for one late restore").isEmpty();
    }

    @Test
    void aLateRestoresDropThatCouldNotBeSentIsSentByTheCoordinatorStartedAfterwards() {
        CommandSender real = ClientProxy.unwrap(sender);
        String runId = lateRestoreWhoseDropCannotBeSent(real, "orders_late_kept").runId();

        // a coordinator started afterwards, with a broker it reaches, and nothing of the first one's memory
        SagaEngine restarted = new SagaEngine(db, runs, plans, real, runEvents, localSteps, coordinatorConfig, tracer,
                restoreTargets);
        updateLateDrop(runId, "created_at = now() - interval '1 minute'");
        restarted.resendUnsent();
        Command drop = participant.next(runId);
        assertThat(drop.type()).isEqualTo(EventType.DROP_DATABASE);
        assertThat(drop.commandId()).isEqualTo(runId + ":0:late-drop");
        assertThat(drop.data().get("target")).asString().contains("database=orders_late_kept");
        assertThat(lateDropState(runId)).as("marked sent, so not sent again").isEqualTo(LateDropRow.SENT);
        participant.completed(drop, Map.of("dropped", true));
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> notes(runId).stream()
                .anyMatch(n -> n.startsWith("late compensation of step 0 done")));
        // the same reply again, and one for a drop never sent, change nothing
        participant.completed(drop, Map.of("dropped", true));
        participant.completed(new Command(EventType.DROP_DATABASE, runId + ":1:late-drop", runId, 1, Map.of(), null),
                Map.of("dropped", true));
        assertThat(participant.drain(runId, Duration.ofSeconds(2))).as("one drop").isEmpty();
        assertThat(notes(runId).stream().filter(n -> n.startsWith("late compensation"))).as("one reply counted")
                .singleElement().asString().startsWith("late compensation of step 0 done");
    }

    @Test
    void aLateRestoresDropNotSentBeforeItsDeadlineIsNotSentAndTheRunSaysTheDatabaseStays() {
        CommandSender real = ClientProxy.unwrap(sender);
        String runId = lateRestoreWhoseDropCannotBeSent(real, "orders_late_expired").runId();
        // the broker was away for longer than the step's timeout: the participant would refuse the drop now
        updateLateDrop(runId, "created_at = now() - interval '1 hour', deadline = now() - interval '1 second'");
        new SagaEngine(db, runs, plans, real, runEvents, localSteps, coordinatorConfig, tracer, restoreTargets)
                .resendUnsent();
        assertThat(lateDropState(runId)).isEqualTo(LateDropRow.EXPIRED);
        assertThat(participant.drain(runId, Duration.ofSeconds(2))).as("no drop past its deadline").isEmpty();
        JsonPath run = Plans.admin().get("/api/v1/runs/" + runId).then().statusCode(200).extract().jsonPath();
        assertThat(run.getList("transitions.note").stream().map(String::valueOf)
                .filter(n -> n.startsWith("late compensation of step 0 not sent before its deadline")))
                .singleElement().asString().contains("orders_late_expired").endsWith("left in place");
        assertThat(run.getString("steps[0].details.target.state")).contains("left in place");
    }

    @Test
    void lateDropsSettledLongerAgoThanTheRetentionArePurgedAndAReplyToAPurgedOneChangesNothing() {
        CommandSender real = ClientProxy.unwrap(sender);
        // the broker stays away for this test's late drops: the drop waits unsent, however long
        LateRestore late = lateRestoreWhoseDropCannotBeSent(real, "orders_late_purged");
        String runId = late.runId();
        updateLateDrop(runId, "created_at = now() - interval '40 days'");
        // settled drops of other runs, by when they settled (the retention is the default, 30 days)
        String others = Plans.uniqueId("purge");
        insertLateDrop(others + ":0:answered-long-ago", "now() - interval '40 days'", "now() - interval '31 days'",
                null, "now() - interval '39 days'");
        insertLateDrop(others + ":1:expired-long-ago", null, null, "now() - interval '31 days'",
                "now() - interval '31 days'");
        insertLateDrop(others + ":2:unanswered-long-ago", "now() - interval '40 days'", null, null,
                "now() - interval '31 days'");
        insertLateDrop(others + ":3:answered-recently", "now() - interval '40 days'", "now() - interval '1 day'",
                null, "now() - interval '39 days'");
        insertLateDrop(others + ":4:expired-recently", null, null, "now() - interval '1 day'",
                "now() - interval '40 days'");
        insertLateDrop(others + ":5:unanswered-recently", "now() - interval '40 days'", null, null,
                "now() - interval '1 day'");

        engine.purgeLateDrops();
        assertThat(lateDropsOf(others)).as("settled within the retention (the timer may have purged first)")
                .containsExactlyInAnyOrder(others + ":3:answered-recently", others + ":4:expired-recently",
                        others + ":5:unanswered-recently");
        assertThat(lateDropState(runId)).as("not sent yet: kept, however old").isEqualTo(LateDropRow.UNSENT);

        // the drop went out long ago and no reply came before the retention passed after its deadline
        updateLateDrop(runId, "sent_at = now() - interval '40 days', deadline = now() - interval '31 days'");
        engine.purgeLateDrops();
        assertThat(lateDropState(runId)).isEqualTo(LateDropRow.NONE);
        String before = Plans.admin().get("/api/v1/runs/" + runId).then().statusCode(200).extract().asString();

        CapturedLog log = CapturedLog.of(SagaEngine.class);
        try {
            // the late restore's reply delivered again, then the drop's reply: same partition, handled in this order
            participant.completed(late.restore(), restored("orders_late_purged"));
            String dropId = runId + ":0:late-drop";
            participant.completed(new Command(EventType.DROP_DATABASE, dropId, runId, 0, Map.of(), null),
                    Map.of("dropped", true));
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> log.messages()
                    .stream().anyMatch(m -> m.contains("reply to late drop " + dropId + " ignored")
                            && m.contains("purged")));
        } finally {
            log.close();
        }
        assertThat(Plans.admin().get("/api/v1/runs/" + runId).then().statusCode(200).extract().asString())
                .as("no transition, no step detail, no status change").isEqualTo(before);
        assertThat(notes(runId)).noneMatch(n -> n.startsWith("late compensation of step 0 done"));
        assertThat(lateDropState(runId)).as("the late restore's reply again decides no new drop")
                .isEqualTo(LateDropRow.NONE);
        assertThat(participant.drain(runId, Duration.ofSeconds(2))).as("nothing sent").isEmpty();
    }

    private void insertLateDrop(String commandId, String sentAt, String repliedAt, String expiredAt,
                                String deadline) {
        String runId = commandId.substring(0, commandId.indexOf(':'));
        db.tx(c -> {
            try (var ps = c.prepareStatement("insert into late_drops (command_id, run_id, step, target, pending, "
                    + "deadline, created_at, sent_at, replied_at, expired_at) values (?, ?, 0, 'database=test', "
                    + "'{}'::jsonb, " + deadline + ", now() - interval '40 days', " + sentAt + ", " + repliedAt + ", "
                    + expiredAt + ")")) {
                ps.setString(1, commandId);
                ps.setString(2, runId);
                return ps.executeUpdate();
            }
        });
    }

    private List<String> lateDropsOf(String runId) {
        return db.tx(c -> {
            try (var ps = c.prepareStatement("select command_id from late_drops where run_id = ?")) {
                ps.setString(1, runId);
                var rs = ps.executeQuery();
                List<String> ids = new ArrayList<>();
                while (rs.next()) {
                    ids.add(rs.getString(1));
                }
                return ids;
            }
        });
    }

    private record LateRestore(String runId, Command restore) {
    }

    /**
     * A run whose restore timed out and then succeeded, with its drop decided but not sent: this coordinator cannot
     * send it (the broker away), as if it then stopped; its memory holds nothing of it.
     */
    private LateRestore lateRestoreWhoseDropCannotBeSent(CommandSender real, String database) {
        QuarkusMock.installMockForType(new CommandSender() {
            @Override
            public void send(String runId, String traceparent, Run.Pending pending) {
                if (pending.commandId().endsWith(":late-drop")) {
                    throw new IllegalStateException("broker unreachable (injected by the test)");
                }
                real.send(runId, traceparent, pending);
            }
        }, CommandSender.class);
        String planId = createPlan("PT10M", List.of(Plans.restore(database)));
        String runId = startRun(planId, "recovery");
        participant.completed(participant.next(runId), backup(Instant.now()));
        Command restore = participant.next(runId);
        db.tx(c -> {
            try (var ps = c.prepareStatement("update runs set deadline = now() - interval '1 second' where id = ?")) {
                ps.setString(1, runId);
                return ps.executeUpdate();
            }
        });
        engine.timeouts();
        awaitRun(runId, "FAILED");
        participant.completed(restore, restored(database));
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> lateDropState(runId) == LateDropRow.UNSENT);
        assertThat(participant.drain(runId, Duration.ofSeconds(2))).as("the drop could not go out").isEmpty();
        return new LateRestore(runId, restore);
    }

    private static List<String> notes(String runId) {
        return Plans.admin().get("/api/v1/runs/" + runId).then().extract().jsonPath().getList("transitions.note")
                .stream().map(String::valueOf).toList();
    }

    private void updateLateDrop(String runId, String set) {
        db.tx(c -> {
            try (var ps = c.prepareStatement("update late_drops set " + set + " where run_id = ?")) {
                ps.setString(1, runId);
                return ps.executeUpdate();
            }
        });
    }

    private enum LateDropRow { NONE, UNSENT, SENT, EXPIRED }

    private LateDropRow lateDropState(String runId) {
        return db.tx(c -> {
            try (var ps = c.prepareStatement("select sent_at is not null, expired_at is not null from late_drops "
                    + "where run_id = ?")) {
                ps.setString(1, runId);
                var rs = ps.executeQuery();
                return !rs.next() ? LateDropRow.NONE : rs.getBoolean(1) ? LateDropRow.SENT
                        : rs.getBoolean(2) ? LateDropRow.EXPIRED : LateDropRow.UNSENT;
            }
        });
    }

    @Test
    void aRunLeftWithNothingInFlightIsTakenUpAgainAtItsNextAction() {
        String planId = createPlan("PT10M", List.of(Plans.restore("orders_restored")));
        String runId = startRun(planId, "recovery");
        Command prepare = participant.next(runId);
        participant.completed(prepare, backup(Instant.now()));
        Command restore = participant.next(runId);
        // a run RUNNING with no step in flight and no timer: what a lost transition would leave behind
        db.tx(c -> {
            try (var ps = c.prepareStatement("update runs set pending = null, deadline = null, action_index = 1,"
                    + " updated_at = now() - interval '1 hour' where id = ?")) {
                ps.setString(1, runId);
                return ps.executeUpdate();
            }
        });

        Command again = participant.next(runId);

        assertThat(again.commandId()).isEqualTo(restore.commandId());
        assertThat(deadline(again)).isAfter(Instant.now());
        participant.completed(again, restored("orders_restored"));
        JsonPath run = awaitRun(runId, "SUCCEEDED");
        assertThat(run.getList("transitions.note").stream().map(String::valueOf)
                .filter(n -> n.startsWith("nothing in flight"))).hasSize(1);
    }

    private static Instant deadline(Command command) {
        return Instant.parse(String.valueOf(command.data().get("deadline")));
    }

    @Test
    void duplicateAndUnknownRepliesAreIgnored() {
        String planId = createPlan("PT10M", List.of(Plans.restore("orders_restored")));
        String runId = startRun(planId, "recovery");
        Command prepare = participant.next(runId);
        participant.reply(new Command(prepare.type(), runId + ":9:bogus", runId, 9, Map.of(), null),
                StepReply.Outcome.FAILED, "not a command of this run", Map.of());
        participant.completed(prepare, backup(Instant.now()));
        participant.completed(prepare, backup(Instant.now()));
        Command restore = participant.next(runId);
        assertThat(restore.type()).isEqualTo(EventType.RESTORE_DATABASE);
        assertThat(restore.data().get("target")).asString().contains("database=orders_restored")
                .contains("host=127.0.0.1").contains("port=25432").contains("passwordRef=env:LIFEBOAT_SECRET_RESTORE_DB_PASSWORD");
        assertThat(restore.data()).as("without the flag the worker refuses an existing database")
                .containsEntry("replaceExisting", false);
        participant.completed(restore, restored("orders_restored"));
        participant.completed(restore, restored("orders_restored"));

        JsonPath run = awaitRun(runId, "SUCCEEDED");
        assertThat(participant.drain(runId, Duration.ofSeconds(2))).as("each command sent once").isEmpty();
        List<String> completions = run.getList("transitions.findAll { it.note?.startsWith('completed') }.action");
        assertThat(completions).containsExactly("prepare", "restore");
        assertThat(run.getString("status")).isEqualTo("SUCCEEDED");
        Plans.admin().get("/api/v1/plans/" + planId + "/runs").then().statusCode(200)
                .body("[0].runId", endsWith(runId));
    }

    @Test
    void recoveryWithReplaceExistingTellsTheWorkerAndKeepsTheTargetItStartedWith() {
        String target = Plans.registerTarget(Plans.uniqueId("pg"), "^(drill_|orders).*");
        Map<String, Object> step = Plans.restore("orders_restored");
        step.put("target", target);
        String planId = createPlan("PT10M", List.of(step));
        String runId = Plans.admin().contentType(ContentType.JSON)
                .body(Map.of("mode", "recovery", "replaceExisting", true)).post("/api/v1/plans/" + planId + "/runs")
                .then().statusCode(202).extract().path("runId");
        participant.completed(participant.next(runId), backup(Instant.now()));
        // the admin moves the target server while the run waits: the run keeps the server it started with (and
        // snapshot-worker, which compares with the registration as it is now, refuses it naming the difference)
        Map<String, Object> moved = Plans.target("^(drill_|orders).*");
        moved.put("port", 6543);
        Plans.admin().contentType(ContentType.JSON).body(moved).put("/api/v1/targets/" + target).then()
                .statusCode(200);
        Command restore = participant.next(runId);
        assertThat(restore.data()).containsEntry("replaceExisting", true);
        assertThat(restore.data().get("target")).asString().contains("port=25432");
        participant.completed(restore, restored("orders_restored"));
        awaitRun(runId, "SUCCEEDED");
    }

    @Test
    void redirectsAreNotFollowedAndAnswerBodiesStayOut() {
        String planId = createPlan("PT10M", List.of(Plans.restart(services.baseUrl() + "/moved", 0)));
        String runId = startRun(planId, "recovery");
        JsonPath run = awaitRun(runId, "FAILED");
        assertThat(run.getString("reason")).contains("answered 302").contains("redirects are not followed");
        assertThat(run.getString("steps[0].details.restart.calls[0].outcome")).startsWith("answered 302");
        assertThat(services.requests("/moved")).hasSize(1);
        String whole = Plans.admin().get("/api/v1/runs/" + runId).then().extract().asString();
        assertThat(whole).doesNotContain("secret-body-marker").doesNotContain("/elsewhere");

        String notifyPlan = createPlan("PT10M", List.of(Plans.notify(services.baseUrl() + "/moved")));
        JsonPath notified = awaitRun(startRun(notifyPlan, "recovery"), "FAILED");
        assertThat(notified.getString("reason")).contains("answered 302").contains("redirects are not followed");
        assertThat(Plans.admin().get("/api/v1/runs/" + notified.getString("runId")).then().extract().asString())
                .doesNotContain("secret-body-marker");
    }

    private static String awaitStatusNow(String runId) {
        return Plans.admin().get("/api/v1/runs/" + runId).then().extract().path("status");
    }
}
