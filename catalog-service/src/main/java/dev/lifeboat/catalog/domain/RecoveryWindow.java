package dev.lifeboat.catalog.domain;

import dev.lifeboat.repository.wal.WalNames;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The points a source can be restored to, as far as the catalog knows.
 * <p>
 * A physical source has a continuous window: from the consistency point (stop LSN and time) of its oldest retained
 * base backup whose WAL, from the backup's start segment on, the archive holds without a hole, to the last point the
 * archive reaches: the archiver's last archived LSN and time or, when the archive reports a gap, the end of the last
 * segment before the missing one. Retained: COMPLETED (so not deleted), not expired, not found corrupt.
 * <p>
 * A logical source has no continuous window: only its retained backups' snapshot points ({@code restorePoints}).
 *
 * @param continuous true for a physical source with a window, false when it has none (see {@code reason})
 * @param latest     {@code timeIsLowerBound}: the archive's time at that LSN is not reported past a gap, so the time
 *                   shown is the newest base backup stop known to lie before it
 */
public record RecoveryWindow(
        String sourceId,
        String method,
        Instant checkedAt,
        boolean continuous,
        String reason,
        Point earliest,
        Point latest,
        boolean gap,
        String lastContiguousSegment,
        String firstMissingSegment,
        List<BasePoint> baseBackups,
        List<RestorePoint> restorePoints) {

    public static final String PHYSICAL = "physical";
    public static final String LOGICAL = "logical";

    public record Point(Instant time, String lsn, String backupId, boolean timeIsLowerBound) {
    }

    /** A retained physical base backup and whether the window starts from it or why not. */
    public record BasePoint(String backupId, String startLsn, String stopLsn, String startWalSegment,
                            Instant stopTime, boolean inWindow, String note) {
    }

    /** A logical backup's point: the database as it was when its snapshot started. */
    public record RestorePoint(String backupId, Instant time, Instant completedAt) {
    }

    public static RecoveryWindow logical(String sourceId, List<Backup> retained, Instant now) {
        List<RestorePoint> points = retained.stream()
                .filter(b -> b.startedAt != null)
                .sorted(Comparator.comparing((Backup b) -> b.startedAt))
                .map(b -> new RestorePoint(b.backupId, b.startedAt, b.completedAt))
                .toList();
        String reason = points.isEmpty()
                ? "source '" + sourceId + "' is backed up logically and has no retained completed backup: nothing to "
                + "restore to"
                : "source '" + sourceId + "' is backed up logically: it can be restored to its " + points.size()
                + " backup point(s) only, not to any moment between them";
        Point earliest = points.isEmpty() ? null
                : new Point(points.getFirst().time(), null, points.getFirst().backupId(), false);
        Point latest = points.isEmpty() ? null
                : new Point(points.getLast().time(), null, points.getLast().backupId(), false);
        return new RecoveryWindow(sourceId, LOGICAL, now, false, reason, earliest, latest, false, null, null,
                List.of(), points);
    }

    /**
     * @param retained    the source's retained physical base backups, any order
     * @param wal         its archiver's newest report, null when none has reported
     * @param segmentSize the cluster's WAL segment size, for where the last segment before a gap ends
     */
    public static RecoveryWindow physical(String sourceId, List<Backup> retained, WalArchiveStatus wal,
                                          int segmentSize, Instant now) {
        List<Backup> byStop = new ArrayList<>(retained);
        byStop.sort(Comparator.comparingLong(RecoveryWindow::stopOrMax));
        if (wal == null || wal.archivedLsn == null) {
            List<BasePoint> points = byStop.stream().map(b -> base(b, false,
                    "no WAL archived for the source, so no point after this backup's end is reachable")).toList();
            return new RecoveryWindow(sourceId, PHYSICAL, now, false, wal == null
                    ? "no WAL archiver has reported for source '" + sourceId + "': its archive's reach is unknown"
                    : "the WAL archiver of source '" + sourceId + "' has archived nothing yet", null, null, false,
                    null, null, points, List.of());
        }
        Long reach = reach(wal, segmentSize);
        String from = wal.continuityFrom;
        List<BasePoint> points = new ArrayList<>();
        Backup first = null;
        Instant newestStopInWindow = null;
        for (Backup b : byStop) {
            String note;
            boolean in = false;
            if (lsn(b.physicalStopLsn) == null || !WalNames.isSegment(b.physicalStartWalSegment)) {
                note = "its WAL position is not known (start segment '" + b.physicalStartWalSegment + "', stop LSN '"
                        + b.physicalStopLsn + "')";
            } else if (from != null && b.physicalStartWalSegment.compareTo(from) < 0) {
                note = "its start segment " + b.physicalStartWalSegment + " is older than the archive's WAL, which "
                        + "begins at " + from;
            } else if (reach == null || lsn(b.physicalStopLsn) > reach) {
                note = wal.gap
                        ? "its stop LSN " + b.physicalStopLsn + " lies past the missing segment "
                        + wal.firstMissingSegment + ": restorable to its own end (its WAL is in the backup), but "
                        + "whether the archive holds the WAL after it without a hole is not known"
                        : "its stop LSN " + b.physicalStopLsn + " lies past the archive's last LSN " + wal.archivedLsn;
            } else {
                in = true;
                note = first == null ? "the window starts at its consistency point" : "within the window";
                if (first == null) {
                    first = b;
                }
                if (b.physicalStopTime != null && (newestStopInWindow == null
                        || b.physicalStopTime.isAfter(newestStopInWindow))) {
                    newestStopInWindow = b.physicalStopTime;
                }
            }
            points.add(base(b, in, note));
        }
        String lastReachable = reach == null ? null : WalNames.formatLsn(reach);
        if (first == null) {
            String why = byStop.isEmpty()
                    ? "source '" + sourceId + "' has no retained physical base backup to start a recovery from"
                    : "none of the " + byStop.size() + " retained base backup(s) of source '" + sourceId
                    + "' is followed by WAL the archive holds without a gap (see baseBackups)";
            Point latest = reach == null ? null : new Point(wal.gap ? null : wal.archivedAt, lastReachable, null,
                    false);
            return new RecoveryWindow(sourceId, PHYSICAL, now, false, why, null, latest, wal.gap,
                    wal.lastContiguousSegment, wal.firstMissingSegment, points, List.of());
        }
        Point earliest = new Point(first.physicalStopTime, first.physicalStopLsn, first.backupId, false);
        Point latest;
        String reason;
        if (wal.gap) {
            latest = new Point(newestStopInWindow, lastReachable, null, true);
            reason = "WAL segment " + wal.firstMissingSegment + " is missing from the archive of source '" + sourceId
                    + "': the last reachable point is LSN " + lastReachable + " (end of segment "
                    + wal.lastContiguousSegment + "), its time not reported (at least " + newestStopInWindow + ")";
        } else {
            latest = new Point(wal.archivedAt, wal.archivedLsn, null, false);
            reason = "any point from " + first.physicalStopTime + " (base backup '" + first.backupId
                    + "' consistent at LSN " + first.physicalStopLsn + ") to " + wal.archivedAt + " (WAL archived to LSN "
                    + wal.archivedLsn + ")";
        }
        return new RecoveryWindow(sourceId, PHYSICAL, now, true, reason, earliest, latest, wal.gap,
                wal.lastContiguousSegment, wal.firstMissingSegment, points, List.of());
    }

    /** The last LSN the archive reaches without a hole; null when not even its first segment is there. */
    static Long reach(WalArchiveStatus wal, int segmentSize) {
        if (!wal.gap) {
            return lsn(wal.archivedLsn);
        }
        if (!WalNames.isSegment(wal.lastContiguousSegment)) {
            return null;
        }
        long end = WalNames.startLsn(wal.lastContiguousSegment, segmentSize) + segmentSize;
        Long archived = lsn(wal.archivedLsn);
        return archived == null ? end : Math.min(end, archived);
    }

    /** The LSN, or null when {@code text} is none (a backup reported before its position was). */
    static Long lsn(String text) {
        try {
            return text == null ? null : WalNames.parseLsn(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static long stopOrMax(Backup b) {
        Long stop = lsn(b.physicalStopLsn);
        return stop == null ? Long.MAX_VALUE : stop;
    }

    private static BasePoint base(Backup b, boolean inWindow, String note) {
        return new BasePoint(b.backupId, b.physicalStartLsn, b.physicalStopLsn, b.physicalStartWalSegment,
                b.physicalStopTime, inWindow, note);
    }
}
