package dev.lifeboat.catalog.domain;

import java.time.Instant;

/**
 * How long a restore of the source would take now, predicted from the rates a recent run of the source measured,
 * next to what its last drill measured and the plan's RTO target.
 * <p>
 * Physical: newest retained base backup's bytes / base fetch rate + WAL to replay (the archive's reach minus the
 * backup's start LSN) / replay rate + start time, the rates from the newest succeeded run that restored a cluster of
 * the source ({@code clusterRestore}). Logical: the newest restorable backup's bytes / the restore rate of the newest
 * succeeded run's RestoreDatabase step (its duration and its restored backup's bytes). Bytes are a backup's raw
 * (uncompressed) size when known, as restores measure what they write. No measurement: {@code predictedSeconds} null
 * and {@code reason} says what is missing; no rate is ever assumed.
 *
 * @param predictedWithinTarget null when either side is unknown
 */
public record RtoPrediction(
        String sourceId,
        String method,
        Instant checkedAt,
        Double predictedSeconds,
        String reason,
        Inputs inputs,
        Rates rates,
        Drill lastDrill,
        Long rtoTargetSeconds,
        Boolean predictedWithinTarget) {

    /** What the prediction is about: the backup to restore and, physical, the WAL to replay after it. */
    public record Inputs(String backupId, Long backupBytes, String replayFromLsn, String replayToLsn,
                         Long walBytesToReplay) {
    }

    /**
     * The measured rates and the run they come from. {@code fetchBytesPerSecond}: base backup fetched and
     * extracted (physical) or backup restored (logical); {@code replayBytesPerSecond} and {@code startSeconds}
     * physical only; {@code replayBytesPerSecond} null when that run replayed no WAL.
     */
    public record Rates(String runId, String planId, String mode, Instant finishedAt, Double fetchBytesPerSecond,
                        Double replayBytesPerSecond, Double startSeconds, String measuredFrom) {
    }

    /** The source's newest finished drill: its measured RTO (run start to last plan step) against the plan's. */
    public record Drill(String runId, String planId, String status, Instant finishedAt, Double measuredRtoSeconds,
                        Long rtoTargetSeconds, Boolean rtoMet) {
        public static Drill of(Recovery r) {
            return r == null ? null : of(r.runId, r.planId, r.status, r.finishedAt, r.totalMillis, r.rtoMillis,
                    r.rtoMet);
        }

        public static Drill of(String runId, String planId, RecoveryStatus status, Instant finishedAt,
                               Long totalMillis, Long rtoMillis, Boolean rtoMet) {
            return new Drill(runId, planId, status == null ? null : status.name(), finishedAt,
                    totalMillis == null ? null : totalMillis / 1000.0, rtoMillis == null ? null : rtoMillis / 1000,
                    rtoMet);
        }
    }

    /** What a logical restore measured: the RestoreDatabase step's duration and the restored backup's bytes. */
    public record LogicalMeasure(Recovery run, String backupId, long bytes, long restoreMillis) {
    }

    public static RtoPrediction physical(String sourceId, Backup newest, WalArchiveStatus wal, int segmentSize,
                                         Recovery measured, Recovery lastDrill, Instant now) {
        Drill drill = Drill.of(lastDrill);
        Long target = target(drill, measured);
        Rates rates = measured == null ? null : new Rates(measured.runId, measured.planId, mode(measured),
                measured.finishedAt, rate(measured.clusterBaseBytes, measured.clusterFetchMillis),
                rate(measured.clusterWalBytes, measured.clusterReplayMillis),
                measured.clusterStartMillis / 1000.0, "the RestoreCluster step (step " + measured.clusterRestoreStep
                + ") of run '" + measured.runId + "'");
        if (newest == null) {
            return unknown(sourceId, RecoveryWindow.PHYSICAL, now, "source '" + sourceId
                    + "' has no retained physical base backup to restore", null, rates, drill, target);
        }
        Long bytes = bytes(newest);
        Long from = RecoveryWindow.lsn(newest.physicalStartLsn);
        Long to = wal == null || wal.archivedLsn == null ? null : RecoveryWindow.reach(wal, segmentSize);
        Long walBytes = from == null || to == null ? null : Math.max(0, to - from);
        Inputs inputs = new Inputs(newest.backupId, bytes, newest.physicalStartLsn,
                to == null ? null : dev.lifeboat.repository.wal.WalNames.formatLsn(to), walBytes);
        if (measured == null) {
            return unknown(sourceId, RecoveryWindow.PHYSICAL, now, "no succeeded run has restored a cluster of source '"
                    + sourceId + "' yet, so no fetch or replay rate is measured; run a drill", inputs, null, drill,
                    target);
        }
        if (bytes == null) {
            return unknown(sourceId, RecoveryWindow.PHYSICAL, now, "the size of base backup '" + newest.backupId
                    + "' is not known yet", inputs, rates, drill, target);
        }
        if (walBytes == null) {
            return unknown(sourceId, RecoveryWindow.PHYSICAL, now, wal == null || wal.archivedLsn == null
                    ? "no WAL archiver has reported an archived position for source '" + sourceId
                    + "', so the WAL to replay is unknown"
                    : "the start LSN of base backup '" + newest.backupId + "' is not known", inputs, rates, drill,
                    target);
        }
        if (walBytes > 0 && rates.replayBytesPerSecond() == null) {
            return unknown(sourceId, RecoveryWindow.PHYSICAL, now, "run '" + measured.runId + "' replayed no WAL, so"
                    + " no replay rate is measured for the " + walBytes + " bytes of WAL to replay", inputs, rates,
                    drill, target);
        }
        double seconds = bytes / rates.fetchBytesPerSecond()
                + (walBytes == 0 ? 0 : walBytes / rates.replayBytesPerSecond())
                + rates.startSeconds();
        return known(sourceId, RecoveryWindow.PHYSICAL, now, seconds, "base backup '" + newest.backupId + "' ("
                + bytes + " bytes) fetched at the rate run '" + measured.runId + "' measured, " + walBytes
                + " bytes of WAL replayed, then the start", inputs, rates, drill, target);
    }

    public static RtoPrediction logical(String sourceId, Backup newest, LogicalMeasure measured, Recovery lastDrill,
                                        Instant now) {
        Drill drill = Drill.of(lastDrill);
        Long target = target(drill, measured == null ? null : measured.run());
        Rates rates = measured == null ? null : new Rates(measured.run().runId, measured.run().planId,
                mode(measured.run()), measured.run().finishedAt, rate(measured.bytes(), measured.restoreMillis()),
                null, null, "the RestoreDatabase step of run '" + measured.run().runId + "' (" + measured.bytes()
                + " bytes of backup '" + measured.backupId() + "' in " + measured.restoreMillis() + " ms)");
        if (newest == null) {
            return unknown(sourceId, RecoveryWindow.LOGICAL, now, "source '" + sourceId
                    + "' has no restorable backup", null, rates, drill, target);
        }
        Long bytes = bytes(newest);
        Inputs inputs = new Inputs(newest.backupId, bytes, null, null, null);
        if (measured == null) {
            return unknown(sourceId, RecoveryWindow.LOGICAL, now, "no succeeded run of source '" + sourceId
                    + "' has reported how long restoring a backup of known size took, so no restore rate is "
                    + "measured; run a drill", inputs, null, drill, target);
        }
        if (bytes == null) {
            return unknown(sourceId, RecoveryWindow.LOGICAL, now, "the size of backup '" + newest.backupId
                    + "' is not known yet", inputs, rates, drill, target);
        }
        return known(sourceId, RecoveryWindow.LOGICAL, now, bytes / rates.fetchBytesPerSecond(), "backup '"
                + newest.backupId + "' (" + bytes + " bytes) restored at the rate run '" + measured.run().runId
                + "' measured", inputs, rates, drill, target);
    }

    /** A backup's raw size, else its stored size; null when neither is known. */
    static Long bytes(Backup b) {
        if (b.rawBytes != null && b.rawBytes > 0) {
            return b.rawBytes;
        }
        return b.sizeBytes != null && b.sizeBytes > 0 ? b.sizeBytes : null;
    }

    private static Double rate(Long bytes, Long millis) {
        return bytes == null || millis == null || bytes <= 0 || millis <= 0 ? null : bytes * 1000.0 / millis;
    }

    private static String mode(Recovery r) {
        return r.mode == null ? null : r.mode.name();
    }

    /** The plan's RTO: the last drill's, else that of the run the rates come from. */
    private static Long target(Drill drill, Recovery measured) {
        if (drill != null && drill.rtoTargetSeconds() != null) {
            return drill.rtoTargetSeconds();
        }
        return measured == null || measured.rtoMillis == null ? null : measured.rtoMillis / 1000;
    }

    private static RtoPrediction unknown(String sourceId, String method, Instant now, String reason, Inputs inputs,
                                         Rates rates, Drill drill, Long target) {
        return new RtoPrediction(sourceId, method, now, null, reason, inputs, rates, drill, target, null);
    }

    private static RtoPrediction known(String sourceId, String method, Instant now, double seconds, String reason,
                                       Inputs inputs, Rates rates, Drill drill, Long target) {
        double rounded = Math.round(seconds * 10) / 10.0;
        return new RtoPrediction(sourceId, method, now, rounded, reason, inputs, rates, drill, target,
                target == null ? null : rounded <= target);
    }
}
