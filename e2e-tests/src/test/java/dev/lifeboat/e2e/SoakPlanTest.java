package dev.lifeboat.e2e;

import dev.lifeboat.contracts.BackupType;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class SoakPlanTest {
    static final List<String> INSTANCES = List.of("scheduler-service", "catalog-service", "storage-worker",
            "storage-worker-b", "snapshot-worker-a", "snapshot-worker-b", "recovery-coordinator");

    static SoakSettings settings(long seed, int minutes) {
        SoakSettings.Range r = new SoakSettings.Range(30, 90);
        return new SoakSettings(seed, Duration.ofMinutes(minutes), r, r, new SoakSettings.Range(20, 60),
                new SoakSettings.Range(10, 30), new SoakSettings.Range(60, 120), Duration.ofMinutes(5), false, Map.of(),
                Duration.ofMinutes(5));
    }

    @Test
    void theSameSeedReplaysTheSameScheduleAndAnotherSeedDrawsAnother() {
        SoakPlan a = SoakPlan.draw(settings(42, 20), INSTANCES, 3);
        SoakPlan b = SoakPlan.draw(settings(42, 20), List.copyOf(INSTANCES).reversed(), 3);
        SoakPlan c = SoakPlan.draw(settings(43, 20), INSTANCES, 3);
        assertThat(b).isEqualTo(a);
        assertThat(c.faults()).isNotEqualTo(a.faults());
    }

    @Test
    void evenAOneMinuteRunInjectsEveryKindOfFaultAndCoversEverySourceAndType() {
        for (long seed = 1; seed <= 50; seed++) {
            SoakPlan plan = SoakPlan.draw(settings(seed, 1), INSTANCES, 3);
            assertThat(plan.faults().stream().map(SoakPlan.Fault::kind).collect(Collectors.toSet()))
                    .as("seed %d", seed).containsExactlyInAnyOrder(SoakPlan.FaultKind.values());
            Set<String> pairs = plan.work().stream().filter(w -> w.kind() == SoakPlan.WorkKind.BACKUP)
                    .map(w -> w.source() + "/" + w.type()).collect(Collectors.toSet());
            assertThat(pairs).as("seed %d", seed).hasSize(3 * BackupType.values().length);
            assertThat(plan.work()).as("seed %d", seed).anyMatch(w -> w.kind() == SoakPlan.WorkKind.DRILL);
            assertThat(plan.window()).isGreaterThanOrEqualTo(Duration.ofMinutes(1));
            plan.faults().stream().filter(f -> f.kind() == SoakPlan.FaultKind.STOP_BROKER)
                    .forEach(f -> assertThat(f.length().toSeconds()).isBetween(30L, 90L));
        }
    }

    @Test
    void outagesNeverOverlapEachOther() {
        SoakPlan plan = SoakPlan.draw(settings(7, 30), INSTANCES, 3);
        List<SoakPlan.Fault> outages = plan.faults().stream().filter(f -> f.target().isEmpty()).toList();
        for (int i = 1; i < outages.size(); i++) {
            assertThat(outages.get(i).at()).isGreaterThan(outages.get(i - 1).end());
        }
    }
}
