package dev.lifeboat.catalog.domain;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Comparator;
import java.util.List;

/**
 * Whether a source meets its recovery point objective now: its newest restorable backup (COMPLETED, not deleted,
 * not failed verification) must be younger than the strictest RPO of its enabled policies. The age is counted
 * from the backup's completion. {@code compliant} is null only when no enabled policy sets an RPO (nothing to
 * meet); a source with an RPO and no restorable backup is not compliant.
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
        List<PolicyRpo> policies) {

    /** A policy as scheduler-service reports it. */
    public record Policy(String policyId, String type, boolean enabled, String rpo) {
    }

    public record LatestBackup(String backupId, Instant startedAt, Instant completedAt, long ageSeconds) {
    }

    /**
     * One policy's RPO and whether the newest backup meets it. {@code applies}: enabled with a valid RPO (only
     * those count); {@code rpoSeconds} is null when the policy sets no RPO or one that is not a valid duration.
     */
    public record PolicyRpo(String policyId, String type, boolean enabled, String rpo, Long rpoSeconds,
                            boolean applies, Boolean compliant) {
    }

    public static RpoCompliance evaluate(String sourceId, List<Policy> policies, Backup newest, Instant now) {
        LatestBackup latest = newest == null ? null : latest(newest, now);
        List<PolicyRpo> each = policies.stream()
                .sorted(Comparator.comparing(Policy::policyId))
                .map(p -> {
                    Long seconds = seconds(p.rpo());
                    return new PolicyRpo(p.policyId(), p.type(), p.enabled(), p.rpo(), seconds,
                            p.enabled() && seconds != null,
                            seconds == null ? null : latest != null && latest.ageSeconds() <= seconds);
                })
                .toList();
        PolicyRpo strictest = each.stream().filter(PolicyRpo::applies)
                .min(Comparator.comparing(PolicyRpo::rpoSeconds)).orElse(null);
        if (strictest == null) {
            return new RpoCompliance(sourceId, now, null, "no enabled policy of source '" + sourceId
                    + "' sets an RPO", null, null, null, latest, each);
        }
        String objective = "the RPO " + strictest.rpo() + " of policy '" + strictest.policyId() + "'";
        if (latest == null) {
            return new RpoCompliance(sourceId, now, false, "source '" + sourceId + "' has no completed backup; "
                    + objective + " is not met", strictest.rpo(), strictest.rpoSeconds(), strictest.policyId(),
                    null, each);
        }
        boolean met = latest.ageSeconds() <= strictest.rpoSeconds();
        String reason = "the newest completed backup '" + latest.backupId() + "' is " + latest.ageSeconds()
                + " s old, " + (met ? "within " : "older than ") + objective;
        return new RpoCompliance(sourceId, now, met, reason, strictest.rpo(), strictest.rpoSeconds(),
                strictest.policyId(), latest, each);
    }

    private static LatestBackup latest(Backup b, Instant now) {
        Instant at = b.completedAt != null ? b.completedAt : b.startedAt != null ? b.startedAt : b.requestedAt;
        long age = at == null ? 0 : Math.max(0, Duration.between(at, now).toSeconds());
        return new LatestBackup(b.backupId, b.startedAt, b.completedAt, age);
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
