package dev.lifeboat.recovery.domain;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Duration;
import java.time.Instant;

/**
 * A run measured against its plan, as answered by GET /runs/{id} ({@code result}) and reported in RecoveryFinished.
 * {@code rpoMet} and the backup fields stay null until a backup was chosen.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record RunResult(boolean success, long totalMillis, long rtoMillis, boolean rtoMet, long rpoMillis,
                        Boolean rpoMet, Long backupAgeSeconds, String backupId, String sourceId, String reason) {

    /** The run so far: its time is counted until its forward actions ended (cleanup and compensation excluded). */
    public static RunResult of(Run r) {
        Instant end = r.forwardFinishedAt != null ? r.forwardFinishedAt : Instant.now();
        long total = Duration.between(r.startedAt, end).toMillis();
        long rto = r.plan.rtoDuration().toMillis();
        long rpo = r.plan.rpoDuration().toMillis();
        boolean success = r.status == RunStatus.SUCCEEDED;
        Long age = r.data.has("backupAgeSeconds") ? r.data.get("backupAgeSeconds").asLong() : null;
        return new RunResult(success, total, rto, success && total <= rto, rpo, age == null ? null : age * 1000 <= rpo,
                age, r.data.path("backupId").asText(null), r.data.path("sourceId").asText(null), r.reason);
    }
}
