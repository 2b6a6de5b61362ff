package dev.lifeboat.recovery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.ClusterTarget;
import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.RecoveryTarget;
import dev.lifeboat.contracts.recovery.RestoreCluster;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.contracts.recovery.SqlCheck;
import dev.lifeboat.recovery.domain.ActionResult;
import dev.lifeboat.recovery.domain.PlanSpec;
import dev.lifeboat.recovery.domain.PlanStep;
import dev.lifeboat.recovery.domain.Run;
import dev.lifeboat.recovery.domain.RunResult;
import dev.lifeboat.recovery.domain.RunStatus;
import dev.lifeboat.recovery.domain.SagaTable;
import dev.lifeboat.recovery.domain.SagaTable.Action;
import dev.lifeboat.recovery.domain.SagaTable.ActionSpec;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The saga's step table as pure logic. */
class SagaTableTest {
    private static final List<PlanStep> STEPS = List.of(
            new PlanStep.RestoreDatabase("orders", "latest", "restore-local", "orders_restored", 2, false, null),
            new PlanStep.VerifyIntegrity(true, List.of(), null),
            new PlanStep.RestartServices(List.of(new PlanStep.Endpoint("POST", "http://x/r", 200)), "PT1S", 0),
            new PlanStep.NotifyStakeholders(List.of("http://x/h"), null));
    /** One step of every kind, with every option that adds an action. */
    private static final List<PlanStep> EVERY_KIND = List.of(
            new PlanStep.RestoreDatabase("orders", "latest", "restore-local", "orders_restored", 2, false, null),
            new PlanStep.VerifyIntegrity(true, List.of(new SqlCheck("same", SqlCheck.Kind.TABLE_MATCHES_SOURCE,
                    "public.orders", null, null, null)), "PT1M"),
            new PlanStep.RestartServices(List.of(new PlanStep.Endpoint("POST", "http://x/r", 200)), "PT1S", 0),
            new PlanStep.NotifyStakeholders(List.of("http://x/h"), null),
            new PlanStep.RestoreCluster("orders-pg", "latest", "restore-clusters", "orders-pitr", 5433,
                    RecoveryTarget.time(Instant.parse("2026-01-01T00:00:30Z")), "PT5M", null));
    private static final ClusterTarget CLUSTER = new ClusterTarget("/var/lib/lifeboat/restores", "drill_6f0c1a2b_4",
            5433);

    @Test
    void drillRunsEveryActionThenDropsItsScratchDatabases() {
        assertThat(SagaTable.forward(STEPS, RunMode.DRILL)).containsExactly(
                new Action(0, "prepare", false), new Action(0, "restore", false),
                new Action(1, "verify-backup", false), new Action(2, "restart", false),
                new Action(3, "notify", false), new Action(0, "drop", true));
    }

    @Test
    void recoveryHasNoCleanup() {
        assertThat(SagaTable.forward(STEPS, RunMode.RECOVERY)).extracting(Action::action)
                .containsExactly("prepare", "restore", "verify-backup", "restart", "notify");
    }

    @Test
    void drillCompensationDropsRestoredDatabasesInReverseOrderThenNotifies() {
        assertThat(SagaTable.compensations(STEPS, RunMode.DRILL, new Action(2, "restart", false)))
                .containsExactly(new Action(0, "drop", false), new Action(2, "notify-failure", false));
        assertThat(SagaTable.compensations(STEPS, RunMode.DRILL, new Action(0, "prepare", false)))
                .as("nothing restored yet").containsExactly(new Action(0, "notify-failure", false));
        assertThat(SagaTable.compensations(STEPS, RunMode.DRILL, new Action(0, "restore", false)))
                .as("a failed restore may leave a partial scratch database").startsWith(new Action(0, "drop", false));
    }

    @Test
    void whatAnAttemptedActionMayHaveLeftBehindIsUndoneOnlyInADrill() {
        assertThat(SagaTable.undo(STEPS, RunMode.DRILL, new Action(0, "restore", false)))
                .contains(new Action(0, "drop", false));
        assertThat(SagaTable.undo(STEPS, RunMode.DRILL, new Action(0, "prepare", false))).as("nothing created yet")
                .isEmpty();
        assertThat(SagaTable.undo(STEPS, RunMode.RECOVERY, new Action(0, "restore", false))).isEmpty();
        assertThat(SagaTable.undo(STEPS, RunMode.DRILL, new Action(2, "restart", false))).isEmpty();
    }

    @Test
    void recoveryCompensationNeverDropsTheTarget() {
        assertThat(SagaTable.compensations(STEPS, RunMode.RECOVERY, new Action(1, "verify-backup", false)))
                .containsExactly(new Action(1, "notify-failure", false));
    }

    @Test
    void aRestoredClusterIsRemovedWhenADrillEndsOrFailsAndKeptByARecovery() {
        List<PlanStep> steps = List.of(EVERY_KIND.get(4), EVERY_KIND.get(3));
        assertThat(SagaTable.forward(steps, RunMode.DRILL)).containsExactly(new Action(0, "prepare", false),
                new Action(0, "restore-cluster", false), new Action(1, "notify", false),
                new Action(0, "remove-cluster", true));
        assertThat(SagaTable.compensations(steps, RunMode.DRILL, new Action(0, "restore-cluster", false)))
                .as("a failed restore may leave a partial cluster").containsExactly(
                        new Action(0, "remove-cluster", false), new Action(0, "notify-failure", false));
        assertThat(SagaTable.compensations(steps, RunMode.DRILL, new Action(0, "prepare", false)))
                .as("nothing restored yet").containsExactly(new Action(0, "notify-failure", false));
        assertThat(SagaTable.undo(steps, RunMode.RECOVERY, new Action(0, "restore-cluster", false))).isEmpty();
        PlanStep.RestoreCluster step = (PlanStep.RestoreCluster) EVERY_KIND.get(4);
        assertThat(SagaTable.clusterName("6f0c1a2b-9d1e-4c1a-8f00-000000000000", RunMode.DRILL, step, 4))
                .isEqualTo("drill_6f0c1a2b_4");
        assertThat(SagaTable.clusterName("6f0c1a2b-9d1e-4c1a-8f00-000000000000", RunMode.RECOVERY, step, 4))
                .isEqualTo("orders-pitr");
        Run recovery = drill(EVERY_KIND);
        recovery.mode = RunMode.RECOVERY;
        assertThat(SagaTable.recoveryTarget(recovery, step)).as("a recovery replays to the plan's target")
                .isEqualTo(RecoveryTarget.time(Instant.parse("2026-01-01T00:00:30Z")));
    }

    @Test
    void scratchDatabaseNameIsDerivedFromRunAndStep() {
        assertThat(SagaTable.scratchDatabase("6f0c1a2b-9d1e-4c1a-8f00-000000000000", 3)).isEqualTo("drill_6f0c1a2b_3");
    }

    @Test
    void everyStepKindDeclaresEachActionAsACommandWithItsFactoryOrAsACoordinatorAction() {
        assertThat(EVERY_KIND).extracting(Object::getClass).as("a sample of every plan step kind")
                .containsExactlyInAnyOrder(PlanStep.class.getPermittedSubclasses());
        for (PlanStep step : EVERY_KIND) {
            SagaTable.StepKind kind = SagaTable.kind(step);
            assertThat(kind.type()).isEqualTo(step.getClass());
            List<ActionSpec> actions = kind.actionsOf(step);
            assertThat(actions).as(step.kind() + " runs something").isNotEmpty();
            assertThat(actions).extracting(ActionSpec::name).as(step.kind() + ": action names").doesNotHaveDuplicates();
            kind.every(step).forEach(a -> {
                assertThat(a.name()).isNotBlank();
                assertThat(a.onCompleted()).as(a.name() + " reply handling").isNotNull();
                if (a.isLocal()) {
                    assertThat(a.command()).as(a.name() + " is run by the coordinator, no command").isNull();
                    assertThat(a.factory()).isNull();
                } else {
                    assertThat(a.command()).as(a.name() + " command type").isNotNull();
                    assertThat(a.factory()).as(a.name() + " command factory").isNotNull();
                }
            });
            if (kind.compensation() != null) {
                assertThat(actions).extracting(ActionSpec::name).as(step.kind() + ": compensation counts from")
                        .contains(kind.compensation().from());
                assertThat(kind.compensation().what()).isNotBlank();
            }
        }
        List<Action> every = new ArrayList<>(SagaTable.forward(EVERY_KIND, RunMode.DRILL));
        every.addAll(SagaTable.compensations(EVERY_KIND, RunMode.DRILL, every.get(every.size() - 2)));
        assertThat(every).as("every action of a drill resolves to its declaration")
                .allSatisfy(a -> assertThat(SagaTable.spec(EVERY_KIND, a).name()).isEqualTo(a.action()));
    }

    @Test
    void eachCommandFactoryBuildsTheCommandItsActionDeclaresWithTheRunsDeadline() throws Exception {
        Run run = drill(EVERY_KIND);
        DatabaseTarget target = new DatabaseTarget("127.0.0.1", 5432, "drill_6f0c1a2b_0", "restore", "env:X");
        Instant deadline = Instant.parse("2026-01-01T00:10:00Z");
        List<Action> actions = new ArrayList<>(SagaTable.forward(EVERY_KIND, RunMode.DRILL));
        List<String> sent = new ArrayList<>();
        for (Action a : actions) {
            ActionSpec spec = SagaTable.spec(EVERY_KIND, a);
            if (spec.isLocal()) {
                continue;
            }
            String commandId = RecoveryCommand.commandId(run.id, a.step(), a.action());
            RecoveryCommand command = spec.factory().create(context(run, a.step(), commandId, deadline, target));
            if (command instanceof RestoreCluster rc) {
                assertThat(rc.target()).isEqualTo(CLUSTER);
                assertThat(rc.recoveryTarget()).as("a drill replays to its start minus drillAgo")
                        .isEqualTo(RecoveryTarget.time(Instant.parse("2025-12-31T23:56:00Z")));
                assertThat(rc.backup().backupId()).isEqualTo("b-42");
            }
            assertThat(EventType.of(command.getClass())).as(a.action()).isEqualTo(spec.command());
            assertThat(command.commandId()).isEqualTo(commandId);
            assertThat(command.runId()).isEqualTo(run.id);
            assertThat(command.step()).isEqualTo(a.step());
            assertThat(command.deadline()).isEqualTo(deadline);
            sent.add(spec.command().name());
        }
        assertThat(sent).containsExactly("PREPARE_RESTORE", "RESTORE_DATABASE", "VERIFY_BACKUP", "VERIFY_DATABASE",
                "PREPARE_RESTORE", "RESTORE_CLUSTER", "DROP_DATABASE", "REMOVE_CLUSTER");
    }

    @Test
    void prepareReplyLeavesTheChosenBackupAndItsAgeAtRunStartInTheRun() {
        Run run = new Run();
        run.id = "6f0c1a2b-9d1e-4c1a-8f00-000000000000";
        run.startedAt = Instant.parse("2026-01-01T00:01:00Z");
        run.data = EventCodec.mapper().createObjectNode();
        ObjectNode result = EventCodec.mapper().createObjectNode();
        result.set("backup", backupJson("2026-01-01T00:00:00Z"));
        result.put("backupAgeSeconds", 999);
        ActionSpec prepare = SagaTable.spec(EVERY_KIND, new Action(0, SagaTable.PREPARE, false));
        prepare.onCompleted().completed(run, 0, result);
        assertThat(run.backup(0).backupId()).isEqualTo("b-42");
        assertThat(run.data.path("backupId").asText()).isEqualTo("b-42");
        assertThat(run.data.path("sourceId").asText()).isEqualTo("orders");
        assertThat(run.data.path("backupAgeSeconds").asLong()).as("from completedAt, not as reported").isEqualTo(60);
    }

    @Test
    void typedResultsReadAsTheJsonTheApiShows() throws Exception {
        var json = EventCodec.mapper();
        JsonNode result = json.valueToTree(new RunResult(false, 12, 60000, false, 86400000, null, null, null, null,
                "step 0 (RestoreDatabase) failed: no backup"));
        assertThat(result.properties()).extracting(java.util.Map.Entry::getKey).containsExactly("success",
                "totalMillis", "rtoMillis", "rtoMet", "rpoMillis", "rpoMet", "backupAgeSeconds", "backupId", "sourceId",
                "reason");
        assertThat(result.get("rpoMet").isNull()).as("unknown until a backup was chosen, and shown so").isTrue();
        assertThat(json.writeValueAsString(new ActionResult.TimedOut())).isEqualTo("{\"timedOut\":true}");
        assertThat(json.writeValueAsString(new ActionResult.Reply((ObjectNode) json.readTree(
                "{\"tables\":[{\"table\":\"public.orders\",\"rows\":1200}]}"))))
                .as("a participant's result is kept as it answered it")
                .isEqualTo("{\"tables\":[{\"table\":\"public.orders\",\"rows\":1200}]}");
        assertThat(json.writeValueAsString(new ActionResult.Restarted(List.of(new ActionResult.Call("POST",
                "http://x/r", 200, 3, "answered 500"))))).isEqualTo("{\"calls\":[{\"method\":\"POST\",\"url\":"
                + "\"http://x/r\",\"expectedStatus\":200,\"attempts\":3,\"outcome\":\"answered 500\"}]}");
        assertThat(json.writeValueAsString(new ActionResult.Notified(List.of(new ActionResult.Sent("http://x/h",
                "answered 200"))))).isEqualTo("{\"webhooks\":[{\"url\":\"http://x/h\",\"outcome\":\"answered 200\"}]}");
    }

    private static Run drill(List<PlanStep> steps) {
        Run run = new Run();
        run.id = "6f0c1a2b-9d1e-4c1a-8f00-000000000000";
        run.mode = RunMode.DRILL;
        run.status = RunStatus.RUNNING;
        run.plan = new PlanSpec("orders-dr", "Orders DR", "PT15M", "PT24H", null, null, steps, null, null, null, null);
        run.startedAt = Instant.parse("2026-01-01T00:01:00Z");
        run.data = EventCodec.mapper().createObjectNode();
        run.data.withObjectProperty("backups").set("0", backupJson("2026-01-01T00:00:00Z"));
        run.data.withObjectProperty("backups").set("4", backupJson("2026-01-01T00:00:00Z"));
        return run;
    }

    private static JsonNode backupJson(String completedAt) {
        ObjectNode b = EventCodec.mapper().createObjectNode();
        b.put("backupId", "b-42").put("sourceId", "orders").put("bucket", "lifeboat").put("repositoryPrefix", "repo")
                .put("chainId", "c-1").put("manifestKey", "repo/manifests/b-42").put("completedAt", completedAt)
                .put("sizeBytes", 1000).put("rawBytes", 4000).put("verification", "VERIFIED");
        return b;
    }

    private static SagaTable.CommandContext context(Run run, int step, String commandId, Instant deadline,
                                                    DatabaseTarget target) {
        return new SagaTable.CommandContext() {
            public Run run() {
                return run;
            }

            public int stepIndex() {
                return step;
            }

            public String commandId() {
                return commandId;
            }

            public Instant deadline() {
                return deadline;
            }

            public DatabaseTarget target(int restoreStep) {
                return target;
            }

            public ClusterTarget cluster(int clusterStep) {
                return CLUSTER;
            }
        };
    }
}
