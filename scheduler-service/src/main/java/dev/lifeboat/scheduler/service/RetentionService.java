package dev.lifeboat.scheduler.service;

import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.ExpiryRevoked;
import io.quarkus.hibernate.reactive.panache.Panache;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.scheduler.domain.BackupRequest;
import dev.lifeboat.scheduler.domain.BackupStatus;
import dev.lifeboat.scheduler.domain.OutboxEvent;
import dev.lifeboat.scheduler.domain.Policy;
import dev.lifeboat.repository.snapshot.retention.Chains;
import dev.lifeboat.repository.snapshot.retention.GfsCalculator;
import dev.lifeboat.repository.snapshot.retention.Integrity;
import dev.lifeboat.repository.snapshot.retention.RetainedBackup;
import dev.lifeboat.repository.snapshot.retention.RetentionCounts;
import dev.lifeboat.repository.snapshot.retention.RetentionDecision;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.LockModeType;
import org.jboss.logging.Logger;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * GFS retention of a policy. The decision is computed from the database each time (never from a running total),
 * so the dry run and the real run agree, and a redelivered completion finds nothing left to expire. Each backup
 * enters with its latest conclusive verification verdict (BackupVerified): a corrupt one takes no slot and the newest
 * fully verified one is always kept.
 */
@ApplicationScoped
public class RetentionService {
    private static final Logger LOG = Logger.getLogger(RetentionService.class);
    /** The most backups one BackupsExpired names. */
    static final int EXPIRED_PER_EVENT = 1000;

    @Inject
    MeterRegistry registry;

    /** A policy's retention as it stands: its kept backups with reasons, and the ones it would expire now. */
    public record Evaluation(Policy policy, RetentionCounts counts, RetentionDecision decision,
                             Map<String, RetainedBackup> backups) {
    }

    /** The dry run: changes nothing. */
    @WithSession
    @WithSpan("RetentionService.preview")
    public Uni<Evaluation> preview(String policyId) {
        return Policy.<Policy>findById(policyId)
                .onItem().ifNull().failWith(() -> ProblemException.notFound("policy", policyId))
                .chain(this::evaluate);
    }

    /**
     * Expires what the policy no longer keeps and writes one BackupsExpired to the outbox, in the caller's
     * transaction. The policy row is locked first, so two completions of one policy handled by two scheduler
     * instances decide one after the other and never expire a backup twice.
     */
    @WithSpan("RetentionService.expire")
    Uni<List<String>> expire(String policyId, String trigger) {
        return Policy.<Policy>findById(policyId, LockModeType.PESSIMISTIC_WRITE).chain(policy -> {
            if (policy == null) {
                LOG.debugf("backup %s names policy %s, which the scheduler does not know: no retention", trigger,
                        policyId);
                return Uni.createFrom().item(List.<String>of());
            }
            return evaluate(policy).chain(e -> record(e, "backup " + trigger + " completed"));
        });
    }

    private Uni<Evaluation> evaluate(Policy policy) {
        // every completed backup of the source, whichever policy took it, because chains run across them
        return BackupRequest.<BackupRequest>list("completedAt is not null and status in ?1 and (sourceId = ?2 or policyId = ?3)",
                        List.of(BackupStatus.COMPLETED, BackupStatus.EXPIRED), policy.sourceId, policy.id)
                .map(rows -> {
                    List<RetainedBackup> linked = Chains.link(rows.stream()
                            .map(r -> new Chains.SourceBackup(r.backupId.toString(), r.completedAt,
                                    dev.lifeboat.repository.snapshot.BackupType.valueOf(r.type.name()),
                                    r.chainId, r.parentBackupId, integrity(r))).toList());
                    Set<String> candidates = rows.stream()
                            .filter(r -> policy.id.equals(r.policyId) && r.status == BackupStatus.COMPLETED)
                            .map(r -> r.backupId.toString()).collect(Collectors.toSet());
                    List<RetainedBackup> scoped = Chains.within(linked, candidates);
                    RetentionCounts counts = new RetentionCounts(policy.keepDaily, policy.keepWeekly, policy.keepMonthly);
                    return new Evaluation(policy, counts, GfsCalculator.decide(scoped, counts), scoped.stream()
                            .collect(Collectors.toMap(RetainedBackup::backupId, Function.identity())));
                });
    }

    /**
     * A backup that retention expired before its full verification passed (a drill verified it meanwhile) may be the
     * one the policy must keep now: the newest fully verified backup of the source. Takes the expiry back when the
     * policy keeps it (ExpiryRevoked through the outbox) and expires what the policy no longer keeps instead;
     * otherwise it stays expired. storage-worker recomputes retention with its own verdicts before deleting and so
     * refused to delete such a backup; had it been deleted already, BackupDeleted follows and ends it. The policy row
     * is locked as in {@link #expire}.
     */
    @WithSpan("RetentionService.reconsider")
    Uni<Boolean> reconsider(BackupRequest row, String trigger) {
        return Policy.<Policy>findById(row.policyId, LockModeType.PESSIMISTIC_WRITE).chain(policy -> {
            if (policy == null || row.status != BackupStatus.EXPIRED) {
                return Uni.createFrom().item(false);
            }
            Instant expiredAt = row.expiredAt;
            row.status = BackupStatus.COMPLETED;
            return row.persist().chain(Panache::flush).chain(() -> evaluate(policy)).chain(e -> {
                String id = row.backupId.toString();
                if (!e.decision().kept(id)) {
                    row.status = BackupStatus.EXPIRED;
                    row.expiredAt = expiredAt;
                    return row.persist().chain(Panache::flush).replaceWith(false);
                }
                row.expiredAt = null;
                Instant now = Instant.now();
                ExpiryRevoked event = new ExpiryRevoked(policy.id, policy.sourceId, List.of(id), "policy " + policy.id
                        + " keeps backup " + id + " (" + e.decision().keep().get(id) + ") after " + trigger
                        + "; it was expired at " + expiredAt, now);
                OutboxEvent out = new OutboxEvent();
                out.id = UUID.nameUUIDFromBytes(("expiry-revoked:" + id + ":" + now).getBytes(
                        java.nio.charset.StandardCharsets.UTF_8));
                out.topic = EventType.EXPIRY_REVOKED.topic();
                out.eventType = EventType.EXPIRY_REVOKED.ceType();
                out.messageKey = policy.id;
                out.payload = EventCodec.encodeData(event);
                out.createdAt = now;
                LOG.infof("policy %s: expiry of backup %s taken back after %s: the policy keeps it (%s)", policy.id,
                        id, trigger, e.decision().keep().get(id));
                registry.counter("lifeboat_backup_expiries_revoked_total").increment();
                return row.persist().chain(out::persist).chain(Panache::flush)
                        .chain(() -> record(e, "backup " + id + " passed its full verification")).replaceWith(true);
            });
        });
    }

    /** What retention makes of a backup's latest conclusive verdict: only a passed FULL one counts as verified. */
    static Integrity integrity(BackupRequest r) {
        if (BackupVerified.CORRUPT.equals(r.verdict)) {
            return Integrity.CORRUPT;
        }
        return BackupVerified.PASSED.equals(r.verdict) && BackupVerified.FULL.equals(r.verdictLevel)
                ? Integrity.VERIFIED : Integrity.UNVERIFIED;
    }

    private Uni<List<String>> record(Evaluation e, String cause) {
        List<String> expired = e.decision().expire();
        if (expired.isEmpty()) {
            return Uni.createFrom().item(List.of());
        }
        Instant now = Instant.now();
        Policy policy = e.policy();
        String reason = "GFS retention of policy " + policy.id + " (" + e.counts() + ") after " + cause + "; "
                + e.decision().keep().size() + " kept";
        // one event per EXPIRED_PER_EVENT backups: a policy tightened over years of backups expires tens of thousands
        // at once, more than one Kafka record carries
        Uni<Void> all = Uni.createFrom().voidItem();
        for (int from = 0, n = 0; from < expired.size(); from += EXPIRED_PER_EVENT, n++) {
            List<String> batch = expired.subList(from, Math.min(expired.size(), from + EXPIRED_PER_EVENT));
            List<UUID> ids = batch.stream().map(UUID::fromString).toList();
            OutboxEvent row = new OutboxEvent();
            row.id = UUID.fromString(Ids.expiryEventId(policy.id, batch, cause));
            row.topic = EventType.BACKUPS_EXPIRED.topic();
            row.eventType = EventType.BACKUPS_EXPIRED.ceType();
            row.messageKey = policy.id;
            row.payload = EventCodec.encodeData(new BackupsExpired(policy.id, policy.sourceId, batch, reason, now));
            // in the order of the batches: the relay sends by creation time
            row.createdAt = now.plusNanos(1000L * n);
            // one statement per batch: each id is a bind parameter, and a statement takes at most 65535
            all = all.chain(() -> BackupRequest.update("status = ?1, expiredAt = ?2 where backupId in ?3 and status "
                            + "= ?4", BackupStatus.EXPIRED, now, ids, BackupStatus.COMPLETED))
                    .chain(row::persist).replaceWithVoid();
        }
        return all
                .invoke(() -> {
                    registry.counter("lifeboat_backups_expired_total").increment(expired.size());
                    LOG.infof("policy %s: %d backup(s) expired after %s, %d kept", policy.id,
                            expired.size(), cause, e.decision().keep().size());
                })
                .replaceWith(expired);
    }
}
