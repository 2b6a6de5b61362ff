package dev.lifeboat.scheduler.service;

import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupProgress;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.scheduler.config.WatchdogConfig;
import dev.lifeboat.scheduler.domain.BackupRequest;
import dev.lifeboat.scheduler.domain.BackupStatus;
import dev.lifeboat.scheduler.domain.OutboxEvent;
import dev.lifeboat.scheduler.messaging.OutboxRelay;
import dev.lifeboat.scheduler.service.BackupResultService.Outcome;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.hibernate.reactive.panache.common.WithTransaction;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Makes sure no requested backup stays unresolved because nobody works on it (no worker, a worker that died, a
 * request lost on the way). Progress events and SnapshotCreated on lifeboat.backup.events.v1 are the backup's
 * heartbeats. A backup still REQUESTED here that had none for {@code lifeboat.watchdog.no-progress-timeout} (counted
 * from its last progress or its last request, whichever is later) is requested again under the same backup id, so
 * the workers' idempotency makes it one backup, at most {@code max-rerequests} times; then it is failed: its row
 * turns FAILED and BackupFailed leaves through the outbox with the reason, which the catalog folds like any other
 * failure. Each check claims its rows with SKIP LOCKED, so several scheduler instances never resolve one twice.
 */
@ApplicationScoped
public class BackupWatchdog {
    private static final Logger LOG = Logger.getLogger(BackupWatchdog.class);
    private static final int BATCH = 100;

    @Inject
    WatchdogConfig config;
    @Inject
    MeterRegistry registry;
    @Inject
    OutboxRelay relay;
    @Inject
    RetentionService retention;

    /**
     * A BackupRequested on the topic: one another system published gets its row here (REQUESTED, watched from now);
     * one the ledger holds already (the scheduler's own request, a re-request) is left as it is.
     */
    @WithTransaction
    @WithSpan("BackupWatchdog.requestSeen")
    public Uni<Outcome> requestSeen(BackupRequested r, Instant publishedAt) {
        UUID id;
        try {
            id = UUID.fromString(r.backupId());
        } catch (IllegalArgumentException | NullPointerException e) {
            return Uni.createFrom().item(Outcome.IGNORED);
        }
        if (r.sourceId() == null || r.type() == null) {
            return Uni.createFrom().item(Outcome.IGNORED);
        }
        return Panache.getSession().chain(session -> session.createNativeQuery("""
                        insert into scheduler.backup_request (backup_id, source_id, policy_id, backup_type,
                                                              requested_by, requested_at, status)
                        values (:id, :source, :policy, :type, :by, :at, 'REQUESTED')
                        on conflict (backup_id) do nothing""")
                        .setParameter("id", id)
                        .setParameter("source", r.sourceId())
                        .setParameter("policy", r.policyId())
                        .setParameter("type", r.type().name())
                        .setParameter("by", r.requestedBy() == null || r.requestedBy().isBlank() ? "unknown"
                                : truncate(r.requestedBy()))
                        .setParameter("at", publishedAt == null ? Instant.now() : publishedAt)
                        .executeUpdate())
                .chain(n -> {
                    if (n > 0) {
                        LOG.infof("backup %s of source %s requested by %s outside the scheduler: watched from now",
                                r.backupId(), r.sourceId(), r.requestedBy());
                        return Uni.createFrom().item(Outcome.RECORDED);
                    }
                    return r.policyId() == null ? Uni.createFrom().item(Outcome.DUPLICATE) : completedFirst(id, r);
                });
    }

    /**
     * A request whose completion was recorded before it (BackupResultService keeps such a completion out of every
     * policy): the backup now joins the policy the request names, when that policy is its source's, and the policy's
     * retention runs as it would have on the completion.
     */
    private Uni<Outcome> completedFirst(UUID id, BackupRequested r) {
        return Panache.getSession().chain(session -> session.createNativeQuery("""
                        update scheduler.backup_request b set policy_id = :policy
                        where b.backup_id = :id and b.status = 'COMPLETED' and b.policy_id is null
                          and b.source_id = :source
                          and exists (select 1 from scheduler.policy p where p.id = :policy
                                      and p.source_id = :source)""")
                        .setParameter("id", id)
                        .setParameter("policy", r.policyId())
                        .setParameter("source", r.sourceId())
                        .executeUpdate())
                .chain(n -> {
                    if (n == 0) {
                        return Uni.createFrom().item(Outcome.DUPLICATE);
                    }
                    LOG.infof("backup %s completed before its request was seen: it joins policy %s now", r.backupId(),
                            r.policyId());
                    return retention.expire(r.policyId(), r.backupId()).replaceWith(Outcome.RECORDED);
                });
    }

    /** A progress event: the backup is being worked on, in this phase, by this worker. */
    @WithTransaction
    @WithSpan("BackupWatchdog.progress")
    public Uni<Outcome> progress(BackupProgress p) {
        return heartbeat(p.backupId(), p.phase(), p.workerId());
    }

    /** The snapshot is written: sealing by storage-worker is what remains. */
    @WithTransaction
    @WithSpan("BackupWatchdog.snapshotCreated")
    public Uni<Outcome> snapshotCreated(SnapshotCreated s) {
        return heartbeat(s.backupId(), "SEALING", "storage-worker");
    }

    private Uni<Outcome> heartbeat(String backupId, String phase, String worker) {
        UUID id;
        try {
            id = UUID.fromString(backupId);
        } catch (IllegalArgumentException | NullPointerException e) {
            return Uni.createFrom().item(Outcome.IGNORED);
        }
        // an event of a backup the scheduler did not request, or one already resolved, changes nothing
        return BackupRequest.update("lastProgressAt = ?1, progressPhase = ?2, progressWorker = ?3"
                        + " where backupId = ?4 and status = ?5", Instant.now(), truncate(phase), truncate(worker), id,
                        BackupStatus.REQUESTED)
                .map(n -> n > 0 ? Outcome.RECORDED : Outcome.IGNORED);
    }

    @Scheduled(every = "${lifeboat.watchdog.check-interval}", delayed = "5s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> check() {
        return resolveStalled()
                .invoke(n -> {
                    if (n > 0) {
                        LOG.infof("watchdog resolved %d backup(s) without progress", n);
                        relay.wake();
                    }
                })
                .onFailure().invoke(e -> LOG.warnf("backup watchdog check failed, the next check retries: %s",
                        e.getMessage()))
                .onFailure().recoverWithNull()
                .replaceWithVoid();
    }

    /** Re-requests or fails every backup without progress for the configured time; returns how many. */
    @WithSpan("BackupWatchdog.resolveStalled")
    public Uni<Integer> resolveStalled() {
        Instant now = Instant.now();
        Instant cutoff = now.minus(config.noProgressTimeout());
        return Panache.withTransaction(() -> Panache.getSession().chain(session -> session
                        .createNativeQuery("select * from scheduler.backup_request where status = 'REQUESTED'"
                                + " and last_requested_at < :cutoff"
                                + " and (last_progress_at is null or last_progress_at < :cutoff)"
                                + " order by last_requested_at limit " + BATCH + " for update skip locked",
                                BackupRequest.class)
                        .setParameter("cutoff", cutoff)
                        .getResultList())
                .chain(rows -> Multi.createFrom().iterable(rows)
                        .onItem().transformToUniAndConcatenate(row -> resolve(row, now))
                        .collect().asList()
                        .map(List::size)));
    }

    private Uni<Void> resolve(BackupRequest row, Instant now) {
        Instant since = row.lastProgressAt != null ? row.lastProgressAt : row.requestedAt;
        String where = row.progressPhase == null ? "no worker reported progress"
                : "phase " + row.progressPhase + " on worker " + row.progressWorker;
        if (row.rerequests < config.maxRerequests()) {
            row.rerequests++;
            row.lastRequestedAt = now;
            LOG.warnf("backup %s of source %s: no progress since %s (%s); requested again (%d of %d)",
                    row.backupId, row.sourceId, since, where, row.rerequests, config.maxRerequests());
            registry.counter("lifeboat_backup_watchdog_total", "action", "rerequested").increment();
            OutboxEvent e = outbox(UUID.nameUUIDFromBytes(("rerequest:" + row.backupId + ":" + row.rerequests)
                    .getBytes(StandardCharsets.UTF_8)), EventType.BACKUP_REQUESTED, row.sourceId,
                    new BackupRequested(row.backupId.toString(), row.sourceId, row.type, row.policyId,
                            row.requestedBy), now);
            return row.persist().chain(e::persist).replaceWithVoid();
        }
        String stage = stage(row.progressPhase);
        String reason = "no progress since " + since + " (" + where + "); re-requested " + row.rerequests
                + " times, each time waiting " + config.noProgressTimeout() + "; check that a snapshot-worker"
                + " (and storage-worker) is running and can reach the source, the object store and the broker";
        LOG.errorf("backup %s of source %s failed by the watchdog: %s", row.backupId, row.sourceId, reason);
        registry.counter("lifeboat_backup_watchdog_total", "action", "failed").increment();
        row.status = BackupStatus.FAILED;
        row.failureReason = stage + ": " + reason;
        OutboxEvent e = outbox(UUID.nameUUIDFromBytes(("watchdog-failed:" + row.backupId)
                        .getBytes(StandardCharsets.UTF_8)), EventType.BACKUP_FAILED, row.backupId.toString(),
                new BackupFailed(row.backupId.toString(), row.sourceId, stage, reason, now), now);
        return row.persist().chain(e::persist).replaceWithVoid();
    }

    /** BackupFailed's stage for the last phase reported: QUEUED when no worker ever reported progress. */
    static String stage(String phase) {
        if (phase == null) {
            return "QUEUED";
        }
        return switch (phase) {
            case "DUMPING" -> "DUMP";
            case "UPLOADING" -> "UPLOAD";
            case "SEALING" -> "SEAL";
            default -> "CONNECT";
        };
    }

    private static OutboxEvent outbox(UUID id, EventType type, String key, Object data, Instant now) {
        OutboxEvent e = new OutboxEvent();
        e.id = id;
        e.topic = type.topic();
        e.eventType = type.ceType();
        e.messageKey = key;
        e.payload = EventCodec.encodeData(data);
        e.createdAt = now;
        return e;
    }

    /** Progress fields come from any publisher: kept short so a hostile event cannot bloat the row. */
    private static String truncate(String s) {
        return s == null ? null : s.length() <= 100 ? s : s.substring(0, 100);
    }
}
