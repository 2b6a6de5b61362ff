package dev.lifeboat.catalog;

import dev.lifeboat.contracts.recovery.RecoveryFinished;
import dev.lifeboat.contracts.recovery.RecoveryFinished.StepOutcome;
import dev.lifeboat.contracts.recovery.RecoveryStarted;
import dev.lifeboat.contracts.recovery.RunMode;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

/** Lifecycle event data for one recovery or drill run, each test with ids of its own. */
record TestRuns(String runId, String planId, RunMode mode, String sourceId, Instant startedAt) {

    static TestRuns of(String planId, RunMode mode, String sourceId, Instant startedAt) {
        return new TestRuns(UUID.randomUUID().toString(), planId, mode, sourceId,
                startedAt.truncatedTo(ChronoUnit.MILLIS));
    }

    static String newPlan() {
        return "plan-" + UUID.randomUUID().toString().substring(0, 8);
    }

    RecoveryStarted started(String trigger) {
        return new RecoveryStarted(runId, planId, "orders DR", mode, trigger, 600_000, 3600, startedAt);
    }

    /** A run that restored, verified and notified within its RTO and RPO. */
    RecoveryFinished succeeded() {
        Instant t = startedAt;
        return new RecoveryFinished(runId, planId, "orders DR", mode, RecoveryFinished.Status.SUCCEEDED, true, null,
                startedAt, t.plusSeconds(42), 42_000, 600_000, true, 3600, true, sourceId, "backup-" + runId,
                1200L, List.of(
                step(0, "RestoreDatabase", "COMPLETED", t, 30_000, "restored 3 tables"),
                step(1, "VerifyIntegrity", "COMPLETED", t.plusSeconds(30), 10_000, "2 checks passed"),
                step(2, "NotifyStakeholders", "COMPLETED", t.plusSeconds(40), 2_000, null)), null);
    }

    /** A run whose verification failed; a drill is compensated (scratch database dropped), a recovery failed. */
    RecoveryFinished failed(String reason) {
        Instant t = startedAt;
        RecoveryFinished.Status status = mode == RunMode.DRILL ? RecoveryFinished.Status.COMPENSATED
                : RecoveryFinished.Status.FAILED;
        return new RecoveryFinished(runId, planId, "orders DR", mode, status, false, reason, startedAt,
                t.plusSeconds(50), 50_000, 600_000, true, 3600, true, sourceId, "backup-" + runId, 1200L, List.of(
                step(0, "RestoreDatabase", "COMPENSATED", t, 30_000, "restored 3 tables, then dropped"),
                step(1, "VerifyIntegrity", "FAILED", t.plusSeconds(30), 20_000, reason)), null);
    }

    private static StepOutcome step(int index, String kind, String status, Instant start, long millis, String message) {
        return new StepOutcome(index, kind, status, start, start.plusMillis(millis), millis, message);
    }
}
