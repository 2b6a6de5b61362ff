package dev.lifeboat.scheduler.service;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.repository.snapshot.retention.Integrity;
import dev.lifeboat.scheduler.domain.BackupRequest;
import dev.lifeboat.scheduler.domain.BackupStatus;
import dev.lifeboat.scheduler.domain.Policy;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.hibernate.reactive.panache.common.WithTransaction;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/**
 * Records backup outcomes on the request rows. Idempotent by backup id: an outcome the row already has changes
 * nothing, so redelivered events are harmless. A completion also applies the policy's retention in the same
 * transaction, so the recorded completion and the BackupsExpired it causes commit together.
 * <p>
 * Any principal that may write the lifecycle topic could publish a BackupCompleted, and a forged one could push real
 * backups out of the keep set. So a completion is ignored when it contradicts the request the scheduler holds (another
 * source or policy) or completed in the future, and one of a backup nobody requested (no row: neither the scheduler
 * nor, through {@link BackupWatchdog#requestSeen}, another system) is recorded without a policy: it neither triggers
 * nor counts in any policy's retention until its request is seen, which then names the policy (a request and its
 * completion read from two topics after an outage may come in either order). storage-worker also recomputes
 * retention over the backups it sealed itself before deleting anything.
 */
@ApplicationScoped
public class BackupResultService {
    private static final Logger LOG = Logger.getLogger(BackupResultService.class);

    public enum Outcome { RECORDED, DUPLICATE, IGNORED }

    /** How far ahead of this clock a completion time may be (clock skew between hosts). */
    static final Duration MAX_CLOCK_AHEAD = Duration.ofMinutes(10);

    @Inject
    RetentionService retention;
    @Inject
    MeterRegistry registry;

    @WithTransaction
    @WithSpan("BackupResultService.completed")
    public Uni<Outcome> completed(BackupCompleted c, String publisher) {
        UUID id = UUID.fromString(c.backupId());
        if (c.completedAt() != null && c.completedAt().isAfter(Instant.now().plus(MAX_CLOCK_AHEAD))) {
            // a completion "from the future" would stay the policy's newest backup, and so pin its keep set, for ever
            return refused("COMPLETED_IN_THE_FUTURE", c, "it completed at " + c.completedAt()
                    + ", more than " + MAX_CLOCK_AHEAD.toMinutes() + " minutes ahead of this clock");
        }
        return BackupRequest.<BackupRequest>findById(id).chain(row -> {
            if (row != null && (row.status == BackupStatus.COMPLETED || row.status == BackupStatus.EXPIRED)) {
                return Uni.createFrom().item(Outcome.DUPLICATE);
            }
            if (row != null && !row.sourceId.equals(c.sourceId())) {
                return refused("REQUEST_OF_OTHER_SOURCE", c, "backup " + c.backupId() + " was requested for source '"
                        + row.sourceId + "'");
            }
            if (row != null && row.policyId != null && c.policyId() != null && !row.policyId.equals(c.policyId())) {
                return refused("REQUEST_OF_OTHER_POLICY", c, "backup " + c.backupId() + " was requested for policy '"
                        + row.policyId + "'");
            }
            if (row == null) {
                registry.counter("lifeboat_backup_completions_unrequested_total").increment();
                LOG.warnf("completion of backup %s (source %s, policy %s) came before any request for it: recorded "
                        + "without a policy, no retention applied until its request is seen", c.backupId(),
                        c.sourceId(), c.policyId());
                return record(null, id, c, publisher, false);
            }
            if (row.policyId == null && c.policyId() != null) {
                return Policy.<Policy>findById(c.policyId()).chain(policy -> {
                    boolean owned = policy != null && policy.sourceId.equals(c.sourceId());
                    if (!owned) {
                        registry.counter("lifeboat_backup_completions_refused_total", "reason",
                                "POLICY_OF_OTHER_SOURCE").increment();
                        LOG.warnf("completion of backup %s (source %s) names policy %s, which %s: recorded without "
                                + "the policy, no retention applied", c.backupId(), c.sourceId(), c.policyId(),
                                policy == null ? "does not exist" : "belongs to source " + policy.sourceId);
                    }
                    return record(row, id, c, publisher, owned);
                });
            }
            return record(row, id, c, publisher, true);
        });
    }

    /**
     * Records the completion on its request row (a new row when the scheduler did not request it). Retention runs
     * for the row's policy unless {@code policyTrusted} is false, in which case the row gets no policy at all, so the
     * completion neither triggers that policy's retention nor counts among its backups.
     */
    private Uni<Outcome> record(BackupRequest row, UUID id, BackupCompleted c, String publisher,
                                boolean policyTrusted) {
        BackupRequest r = row != null ? row : unrequested(id, c, publisher);
        r.status = BackupStatus.COMPLETED;
        r.completedAt = c.completedAt();
        r.sizeBytes = c.sizeBytes();
        r.failureReason = null;
        // the worker may have taken a FULL where an INCREMENTAL was asked for (no chain yet): record what it did
        r.type = c.type();
        // the chain as the repository wrote it: what retention keeps a backup's dependencies by
        r.chainId = c.repository() != null ? c.repository().chainId() : null;
        r.parentBackupId = c.repository() != null ? c.repository().parentBackupId() : null;
        if (r.policyId == null && policyTrusted) {
            r.policyId = c.policyId();
        }
        Uni<Void> recorded = r.persist().chain(Panache::flush);
        return r.policyId == null
                ? recorded.replaceWith(Outcome.RECORDED)
                : recorded.chain(() -> retention.expire(r.policyId, c.backupId())).replaceWith(Outcome.RECORDED);
    }

    /** A completion that contradicts what the scheduler holds: not recorded, so it cannot drive retention. */
    private Uni<Outcome> refused(String reason, BackupCompleted c, String why) {
        registry.counter("lifeboat_backup_completions_refused_total", "reason", reason).increment();
        LOG.warnf("completion of backup %s (source %s, policy %s) ignored: %s", c.backupId(), c.sourceId(),
                c.policyId(), why);
        return Uni.createFrom().item(Outcome.IGNORED);
    }

    @WithTransaction
    @WithSpan("BackupResultService.failed")
    public Uni<Outcome> failed(BackupFailed f) {
        return BackupRequest.<BackupRequest>findById(UUID.fromString(f.backupId())).chain(row -> {
            if (row == null) {
                // without its request the scheduler knows nothing useful about it; the catalog records it
                LOG.debugf("failure of backup %s that the scheduler did not request: ignored", f.backupId());
                return Uni.createFrom().item(Outcome.IGNORED);
            }
            if (row.status != BackupStatus.REQUESTED) {
                return Uni.createFrom().item(Outcome.DUPLICATE);
            }
            row.status = BackupStatus.FAILED;
            row.failureReason = f.stage() + ": " + f.reason();
            return row.persist().replaceWith(Outcome.RECORDED);
        });
    }

    /**
     * Records a conclusive verification verdict (PASSED or CORRUPT) on the backup's row, so that the next retention
     * decision of its policy reads it; the newest verification wins whatever order the events arrive in. UNREADABLE
     * is no verdict on the backup and changes nothing. A verdict naming another source than the row is ignored; a
     * forged verdict can at worst skew the scheduler's decision, since storage-worker recomputes retention over its
     * own verdicts before deleting anything.
     */
    @WithTransaction
    @WithSpan("BackupResultService.verified")
    public Uni<Outcome> verified(BackupVerified v) {
        if (!v.conclusive()) {
            LOG.infof("backup %s could not be verified now (%s); its verdict is unchanged", v.backupId(),
                    String.join("; ", v.problems()));
            return Uni.createFrom().item(Outcome.IGNORED);
        }
        return BackupRequest.<BackupRequest>findById(UUID.fromString(v.backupId())).chain(row -> {
            if (row == null || !row.sourceId.equals(v.sourceId())) {
                LOG.debugf("verdict on backup %s (source %s), which the scheduler %s: ignored", v.backupId(),
                        v.sourceId(), row == null ? "does not know" : "holds for source " + row.sourceId);
                return Uni.createFrom().item(Outcome.IGNORED);
            }
            Instant at = v.verifiedAt() != null ? v.verifiedAt() : Instant.now();
            if (row.verdictAt != null && at.isBefore(row.verdictAt)) {
                return Uni.createFrom().item(Outcome.DUPLICATE);
            }
            if (v.outcome().equals(row.verdict) && v.level().equals(row.verdictLevel) && at.equals(row.verdictAt)) {
                return Uni.createFrom().item(Outcome.DUPLICATE);
            }
            row.verdict = v.outcome();
            row.verdictLevel = v.level();
            row.verdictAt = at;
            if (BackupVerified.CORRUPT.equals(v.outcome())) {
                LOG.warnf("backup %s of source %s failed %s verification: retention no longer counts it", v.backupId(),
                        v.sourceId(), v.level());
            }
            Uni<Void> recorded = row.persist().chain(Panache::flush);
            if (row.status == BackupStatus.EXPIRED && row.policyId != null
                    && RetentionService.integrity(row) == Integrity.VERIFIED) {
                // expired while its full verification ran: it may be the newest verified backup the policy must keep
                return recorded.chain(() -> retention.reconsider(row, "its full verification at " + at))
                        .replaceWith(Outcome.RECORDED);
            }
            return recorded.replaceWith(Outcome.RECORDED);
        });
    }

    /** A completion of a backup published outside the scheduler (another system's BackupRequested). */
    private static BackupRequest unrequested(UUID id, BackupCompleted c, String publisher) {
        BackupRequest r = new BackupRequest();
        r.backupId = id;
        r.sourceId = c.sourceId();
        r.requestedBy = "external:" + publisher;
        r.requestedAt = c.startedAt() != null ? c.startedAt() : c.completedAt();
        return r;
    }
}
