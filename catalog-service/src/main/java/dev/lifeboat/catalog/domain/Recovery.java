package dev.lifeboat.catalog.domain;

import dev.lifeboat.contracts.recovery.RecoveryFinished;
import dev.lifeboat.contracts.recovery.RecoveryStarted;
import dev.lifeboat.contracts.recovery.RunMode;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;
import java.util.List;

/**
 * One recovery or drill run as the catalog knows it. The fold does not depend on arrival order: RecoveryFinished
 * is the run's complete final account and replaces what RecoveryStarted gave (it repeats the plan, the mode and
 * the start), while RecoveryStarted only fills fields that are still empty and never moves a final status back
 * to RUNNING. A second RecoveryFinished (another event id for the same run) changes nothing: the first final
 * account stands.
 */
@Entity
@Table(name = "recovery")
public class Recovery {
    @Id
    public String runId;
    public String planId;
    public String planName;
    @Enumerated(EnumType.STRING)
    public RunMode mode;
    /** Who started the run (RecoveryStarted.trigger: an operator, the drill schedule, ...). */
    public String trigger;
    @Enumerated(EnumType.STRING)
    public RecoveryStatus status;
    public Boolean success;
    public String reason;
    public Instant startedAt;
    public Instant finishedAt;
    public Long totalMillis;
    public Long rtoMillis;
    public Boolean rtoMet;
    public Long rpoSeconds;
    public Boolean rpoMet;
    public String sourceId;
    public String backupId;
    public Long backupAgeSeconds;
    /** What the run's RestoreCluster step measured (RecoveryFinished.clusterRestore); null when it restored none. */
    public Integer clusterRestoreStep;
    public Long clusterBaseBytes;
    public Long clusterFetchMillis;
    public Long clusterWalFiles;
    public Long clusterWalBytes;
    public Long clusterWalFetchMillis;
    public Long clusterReplayMillis;
    public Long clusterStartMillis;
    public Long clusterTotalMillis;
    public Instant updatedAt;

    public void started(RecoveryStarted s, Instant now) {
        planId = fill(planId, s.planId());
        planName = fill(planName, s.planName());
        mode = fill(mode, s.mode());
        trigger = fill(trigger, s.trigger());
        rtoMillis = fill(rtoMillis, s.rtoMillis());
        rpoSeconds = fill(rpoSeconds, s.rpoSeconds());
        startedAt = fill(startedAt, s.startedAt());
        updatedAt = now;
    }

    /**
     * Folds the run's final account in; the steps to record, or an empty list if the run already had a final
     * account (its steps are recorded then).
     */
    public List<RecoveryStep> finished(RecoveryFinished f, Instant now) {
        if (status != null && status.isFinal()) {
            return List.of();
        }
        planId = f.planId();
        planName = f.planName();
        mode = f.mode();
        status = RecoveryStatus.valueOf(f.status().name());
        success = f.success();
        reason = f.reason();
        startedAt = f.startedAt() != null ? f.startedAt() : startedAt;
        finishedAt = f.finishedAt();
        totalMillis = f.totalMillis();
        rtoMillis = f.rtoMillis();
        rtoMet = f.rtoMet();
        rpoSeconds = f.rpoSeconds();
        rpoMet = f.rpoMet();
        sourceId = f.sourceId();
        backupId = f.backupId();
        backupAgeSeconds = f.backupAgeSeconds();
        RecoveryFinished.ClusterRestoreMeasure m = f.clusterRestore();
        if (m != null) {
            clusterRestoreStep = m.step();
            clusterBaseBytes = m.baseBytes();
            clusterFetchMillis = m.fetchMillis();
            clusterWalFiles = m.walFiles();
            clusterWalBytes = m.walBytes();
            clusterWalFetchMillis = m.walFetchMillis();
            clusterReplayMillis = m.replayMillis();
            clusterStartMillis = m.startMillis();
            clusterTotalMillis = m.totalMillis();
        }
        updatedAt = now;
        if (f.steps() == null) {
            return List.of();
        }
        return f.steps().stream().map(o -> {
            RecoveryStep step = new RecoveryStep();
            step.runId = runId;
            step.stepIndex = o.index();
            step.kind = o.kind();
            step.status = o.status();
            step.startedAt = o.startedAt();
            step.finishedAt = o.finishedAt();
            step.durationMillis = o.durationMillis();
            step.message = o.message();
            return step;
        }).toList();
    }

    private static <T> T fill(T current, T value) {
        return current != null ? current : value;
    }
}
