package dev.lifeboat.catalog.domain;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Whether a source meets its recovery point objective now. A logical source: its newest restorable backup
 * (COMPLETED, not deleted, not failed verification) must be younger than the strictest RPO of its enabled policies;
 * the age is counted from the backup's completion. A physical source: its WAL archive's lag (how long ago the server
 * was last at a position the archive holds, plus the age of that report) must be within the RPO, and the archive
 * must have no gap ({@code walArchive}). {@code compliant} is null only when no enabled policy sets an RPO (nothing
 * to meet); a source with an RPO and no restorable backup (logical) or no archiver report (physical) is not
 * compliant.
 */
public record RpoCompliance(
        String sourceId,
        Instant checkedAt,
        Boolean compliant,
        String reason,
        String rpo,
        Long rpoSeconds,
        String policyId,
        LatestBackup latestBackup,
        List<PolicyRpo> policies,
        WalArchive walArchive) {

    /**
     * The WAL archive of a physical source as its archiver last reported it. {@code lagSeconds}: as reported;
     * {@code reportAgeSeconds}: how old that report is now, to the millisecond; {@code rpoSeconds}: both together,
     * the RPO met now;
     * {@code stale}: the report is older than the catalog waits for one (no archiver reports for the source).
     */
    public record WalArchive(String workerId, String state, String error, String archivedLsn, Instant archivedAt,
                             String serverLsn, Long lagBytes, Double lagSeconds, Instant reportedAt,
                             double reportAgeSeconds, boolean stale, double rpoSeconds, boolean gap,
                             String continuityFrom, String lastContiguousSegment, String firstMissingSegment) {
        public static WalArchive of(WalArchiveStatus s, Instant now, Duration staleAfter) {
            double age = Math.max(0, Duration.between(s.reportedAt, now).toMillis()) / 1000.0;
            double lag = (s.lagSeconds == null ? 0 : s.lagSeconds) + age;
            return new WalArchive(s.workerId, s.state, s.error, s.archivedLsn, s.archivedAt, s.serverLsn, s.lagBytes,
                    s.lagSeconds, s.reportedAt, age, age > staleAfter.toSeconds(), lag, s.gap, s.continuityFrom,
                    s.lastContiguousSegment, s.firstMissingSegment);
        }
    }

    /** A policy as scheduler-service reports it. */
    public record Policy(String policyId, String type, boolean enabled, String rpo) {
    }

    public record LatestBackup(String backupId, Instant startedAt, Instant completedAt, long ageSeconds) {
        /** A backup's age at {@code now}, counted from its completion (or its start, or its request). */
        public static LatestBackup of(String backupId, Instant requestedAt, Instant startedAt, Instant completedAt,
                                      Instant now) {
            Instant at = completedAt != null ? completedAt : startedAt != null ? startedAt : requestedAt;
            long age = at == null ? 0 : Math.max(0, Duration.between(at, now).toSeconds());
            return new LatestBackup(backupId, startedAt, completedAt, age);
        }

        public static LatestBackup of(Backup b, Instant now) {
            return b == null ? null : of(b.backupId, b.requestedAt, b.startedAt, b.completedAt, now);
        }
    }

    /**
     * One policy's RPO and whether the newest backup meets it. {@code applies}: enabled with a valid RPO (only
     * those count); {@code rpoSeconds} is null when the policy sets no RPO or one that is not a valid duration.
     */
    public record PolicyRpo(String policyId, String type, boolean enabled, String rpo, Long rpoSeconds,
                            boolean applies, Boolean compliant) {
    }

    /**
     * A physical source: its archive's lag against the strictest enabled RPO. A gap fails it whatever the lag (no
     * recovery reaches past the missing segment), so does an archive that refuses its server (another cluster);
     * no report, or the archive never reached, fails it too.
     */
    public static RpoCompliance evaluatePhysical(String sourceId, List<Policy> policies, LatestBackup latest,
                                                 WalArchiveStatus status, Instant now, Duration staleAfter) {
        WalArchive wal = status == null ? null : WalArchive.of(status, now, staleAfter);
        List<PolicyRpo> each = policyRpos(policies, wal == null || wal.archivedLsn() == null || wal.gap()
                || dev.lifeboat.contracts.WalStatus.REFUSED.equals(wal.state()) ? null
                : (long) Math.ceil(wal.rpoSeconds()));
        PolicyRpo strictest = strictest(each);
        if (strictest == null) {
            return new RpoCompliance(sourceId, now, null, "no enabled policy of source '" + sourceId
                    + "' sets an RPO", null, null, null, latest, each, wal);
        }
        String objective = "the RPO " + strictest.rpo() + " of policy '" + strictest.policyId() + "'";
        String reason;
        boolean met = false;
        if (wal == null) {
            reason = "no WAL archiver has reported for physical source '" + sourceId + "'; " + objective
                    + " is not met";
        } else if (dev.lifeboat.contracts.WalStatus.REFUSED.equals(wal.state())) {
            // nothing the server writes is archived until an administrator acts, whatever the last lag was
            reason = "the WAL archive of source '" + sourceId + "' refuses its server: " + wal.error() + "; "
                    + objective + " is not met";
        } else if (wal.gap()) {
            reason = "the WAL archive of source '" + sourceId + "' has a gap: segment " + wal.firstMissingSegment()
                    + " is missing (the last reachable one is " + wal.lastContiguousSegment() + "); " + objective
                    + " is not met";
        } else if (wal.archivedLsn() == null) {
            reason = "the archiver of source '" + sourceId + "' has archived no WAL yet" + (wal.error() == null ? ""
                    : " (" + wal.error() + ")") + "; " + objective + " is not met";
        } else {
            met = wal.rpoSeconds() <= strictest.rpoSeconds();
            reason = "the WAL archive trails the server by " + String.format(java.util.Locale.ROOT, "%.1f",
                    wal.rpoSeconds()) + " s" + (wal.stale() ? " (no report for "
                    + String.format(java.util.Locale.ROOT, "%.0f", wal.reportAgeSeconds()) + " s)"
                    : "") + ", " + (met ? "within " : "beyond ") + objective;
        }
        return new RpoCompliance(sourceId, now, met, reason, strictest.rpo(), strictest.rpoSeconds(),
                strictest.policyId(), latest, each, wal);
    }

    /** Each policy's RPO, in policy id order (a fleet page evaluates every source: plain loops, no streams). */
    private static List<PolicyRpo> policyRpos(List<Policy> policies, Long achievedSeconds) {
        Policy[] sorted = policies.toArray(new Policy[0]);
        if (sorted.length > 1) {
            Arrays.sort(sorted, Comparator.comparing(Policy::policyId));
        }
        PolicyRpo[] each = new PolicyRpo[sorted.length];
        for (int i = 0; i < sorted.length; i++) {
            Policy p = sorted[i];
            Long seconds = seconds(p.rpo());
            each[i] = new PolicyRpo(p.policyId(), p.type(), p.enabled(), p.rpo(), seconds,
                    p.enabled() && seconds != null,
                    seconds == null ? null : achievedSeconds != null && achievedSeconds <= seconds);
        }
        return List.of(each);
    }

    private static PolicyRpo strictest(List<PolicyRpo> each) {
        PolicyRpo strictest = null;
        for (PolicyRpo p : each) {
            if (p.applies() && (strictest == null || p.rpoSeconds() < strictest.rpoSeconds())) {
                strictest = p;
            }
        }
        return strictest;
    }

    public static RpoCompliance evaluate(String sourceId, List<Policy> policies, LatestBackup latest, Instant now) {
        List<PolicyRpo> each = policyRpos(policies, latest == null ? null : latest.ageSeconds());
        PolicyRpo strictest = strictest(each);
        if (strictest == null) {
            return new RpoCompliance(sourceId, now, null, "no enabled policy of source '" + sourceId
                    + "' sets an RPO", null, null, null, latest, each, null);
        }
        String objective = "the RPO " + strictest.rpo() + " of policy '" + strictest.policyId() + "'";
        if (latest == null) {
            return new RpoCompliance(sourceId, now, false, "source '" + sourceId + "' has no completed backup; "
                    + objective + " is not met", strictest.rpo(), strictest.rpoSeconds(), strictest.policyId(),
                    null, each, null);
        }
        boolean met = latest.ageSeconds() <= strictest.rpoSeconds();
        String reason = "the newest completed backup '" + latest.backupId() + "' is " + latest.ageSeconds()
                + " s old, " + (met ? "within " : "older than ") + objective;
        return new RpoCompliance(sourceId, now, met, reason, strictest.rpo(), strictest.rpoSeconds(),
                strictest.policyId(), latest, each, null);
    }

    private static Long seconds(String iso) {
        if (iso == null || iso.isBlank()) {
            return null;
        }
        try {
            return Duration.parse(iso.trim()).toSeconds();
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
