package dev.lifeboat.recovery;

import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.recovery.domain.PlanStep;
import dev.lifeboat.recovery.domain.SagaTable;
import dev.lifeboat.recovery.domain.SagaTable.Action;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The saga's step table as pure logic. */
class SagaTableTest {
    private static final List<PlanStep> STEPS = List.of(
            new PlanStep.RestoreDatabase("orders", "latest", "restore-local", "orders_restored", 2, false, null),
            new PlanStep.VerifyIntegrity(true, List.of(), null),
            new PlanStep.RestartServices(List.of(new PlanStep.Endpoint("POST", "http://x/r", 200)), "PT1S", 0),
            new PlanStep.NotifyStakeholders(List.of("http://x/h"), null));

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
    void recoveryCompensationNeverDropsTheTarget() {
        assertThat(SagaTable.compensations(STEPS, RunMode.RECOVERY, new Action(1, "verify-backup", false)))
                .containsExactly(new Action(1, "notify-failure", false));
    }

    @Test
    void scratchDatabaseNameIsDerivedFromRunAndStep() {
        assertThat(SagaTable.scratchDatabase("6f0c1a2b-9d1e-4c1a-8f00-000000000000", 3)).isEqualTo("drill_6f0c1a2b_3");
    }
}
