package dev.lifeboat.recovery.domain;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.recovery.RecoveryFinished.ClusterRestoreMeasure;

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

    /**
     * What a RestoreCluster step measured, from its restore-cluster reply; null when the step has no such reply (it
     * failed, or a participant answered without the measures). A missing part reads as 0 (null for the WAL parts a
     * restore may not report).
     */
    public static ClusterRestoreMeasure clusterRestore(int step, JsonNode reply) {
        if (reply == null || !reply.isObject() || !reply.path("totalMillis").isNumber()) {
            return null;
        }
        return new ClusterRestoreMeasure(step, reply.path("baseBytes").asLong(0), reply.path("fetchMillis").asLong(0),
                number(reply, "walFilesFetched"), reply.path("walBytesFetched").asLong(0),
                number(reply, "walFetchMillis"), reply.path("replayMillis").asLong(0),
                reply.path("startMillis").asLong(0), reply.path("totalMillis").asLong());
    }

    private static Long number(JsonNode n, String field) {
        return n.path(field).isNumber() ? n.get(field).asLong() : null;
    }
}
