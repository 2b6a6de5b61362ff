package dev.lifeboat.catalog.rest;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.lifeboat.catalog.domain.Recovery;
import dev.lifeboat.catalog.domain.RecoveryStatus;
import dev.lifeboat.catalog.domain.RecoveryStep;
import dev.lifeboat.catalog.service.RecoveryQueries;
import dev.lifeboat.contracts.recovery.RunMode;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.time.Instant;
import java.util.List;

/** A recovery or drill run as the API shows it. Fields no event has reported yet are null. */
public record RecoveryView(
        String runId,
        String planId,
        String planName,
        RunMode mode,
        String trigger,
        @Schema(description = "RUNNING until the run finished; then SUCCEEDED, FAILED or COMPENSATED")
        RecoveryStatus status,
        Boolean success,
        @Schema(description = "why the run failed: the failing step and its reason")
        String reason,
        Instant startedAt,
        Instant finishedAt,
        @Schema(description = "run start until the last plan step finished (drill cleanup not counted)")
        Long totalMillis,
        @Schema(description = "the plan's RTO")
        Long rtoMillis,
        Boolean rtoMet,
        @Schema(description = "the plan's RPO")
        Long rpoSeconds,
        @Schema(description = "the restored backup's age at run start within the plan's RPO; null if none was restored")
        Boolean rpoMet,
        String sourceId,
        String backupId,
        Long backupAgeSeconds,
        @Schema(description = "what the run's RestoreCluster step measured (the rates GET /sources/{id}/rto predicts "
                + "from); null when it restored no cluster")
        ClusterRestore clusterRestore,
        Instant updatedAt,
        @JsonInclude(JsonInclude.Include.NON_NULL)
        @Schema(description = "the plan steps as they ended, in plan order; only on GET /recoveries/{id}")
        List<Step> steps) {

    public record Step(int index, String kind, String status, Instant startedAt, Instant finishedAt,
                       Long durationMillis, String message) {
        static Step of(RecoveryStep s) {
            return new Step(s.stepIndex, s.kind, s.status, s.startedAt, s.finishedAt, s.durationMillis, s.message);
        }
    }

    public record ClusterRestore(int step, long baseBytes, long fetchMillis, Long walFiles, Long walBytes,
                                 Long walFetchMillis, Long replayMillis, Long startMillis, Long totalMillis) {
        static ClusterRestore of(Recovery r) {
            return r.clusterRestoreStep == null ? null : new ClusterRestore(r.clusterRestoreStep, r.clusterBaseBytes,
                    r.clusterFetchMillis, r.clusterWalFiles, r.clusterWalBytes, r.clusterWalFetchMillis,
                    r.clusterReplayMillis, r.clusterStartMillis, r.clusterTotalMillis);
        }
    }

    public static RecoveryView of(Recovery r) {
        return of(r, null);
    }

    public static RecoveryView of(RecoveryQueries.RecoveryDetail d) {
        return of(d.run(), d.steps().stream().map(Step::of).toList());
    }

    private static RecoveryView of(Recovery r, List<Step> steps) {
        return new RecoveryView(r.runId, r.planId, r.planName, r.mode, r.trigger, r.status, r.success, r.reason,
                r.startedAt, r.finishedAt, r.totalMillis, r.rtoMillis, r.rtoMet, r.rpoSeconds, r.rpoMet, r.sourceId,
                r.backupId, r.backupAgeSeconds, ClusterRestore.of(r), r.updatedAt, steps);
    }
}
