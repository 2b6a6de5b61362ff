package dev.lifeboat.contracts.recovery;

import java.time.Instant;
import java.util.List;

/**
 * A run ended: SUCCEEDED, FAILED (a recovery whose completed steps could not be undone, the target is marked
 * failed), or COMPENSATED (completed steps undone in reverse order). {@code rtoMet}: total time within the plan's
 * RTO; {@code rpoMet}: the restored backup's age at the start of the run within the plan's RPO.
 * {@code clusterRestore}: what the run's RestoreCluster step measured, null when it restored no cluster.
 */
public record RecoveryFinished(
        String runId,
        String planId,
        String planName,
        RunMode mode,
        Status status,
        boolean success,
        String reason,
        Instant startedAt,
        Instant finishedAt,
        long totalMillis,
        long rtoMillis,
        boolean rtoMet,
        long rpoSeconds,
        Boolean rpoMet,
        String sourceId,
        String backupId,
        Long backupAgeSeconds,
        List<StepOutcome> steps,
        ClusterRestoreMeasure clusterRestore) {

    public enum Status { SUCCEEDED, FAILED, COMPENSATED }

    /**
     * What restoring a cluster took, part by part: fetching and extracting the base backup ({@code baseBytes} in
     * {@code fetchMillis}), fetching the archived WAL ({@code walFiles}, {@code walBytes}; {@code walFetchMillis}
     * overlaps replay), replaying it, and starting until connections were accepted. The rates predict the RTO of a
     * restore of the source's current size.
     */
    public record ClusterRestoreMeasure(int step, long baseBytes, long fetchMillis, Long walFiles, long walBytes,
                                        Long walFetchMillis, long replayMillis, long startMillis, long totalMillis) {
    }

    /** One plan step as it ended. */
    public record StepOutcome(int index, String kind, String status, Instant startedAt, Instant finishedAt,
                              Long durationMillis, String message) {
    }
}
