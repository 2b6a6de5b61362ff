package dev.lifeboat.scheduler.service;

import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.scheduler.domain.BackupRequest;
import dev.lifeboat.scheduler.domain.BackupStatus;
import dev.lifeboat.scheduler.domain.OutboxEvent;
import dev.lifeboat.scheduler.domain.Policy;
import dev.lifeboat.scheduler.domain.Source;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.quarkus.hibernate.reactive.panache.common.WithTransaction;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.time.Instant;
import java.util.UUID;

/** Records a backup request and its BackupRequested event in one transaction (outbox). */
@ApplicationScoped
public class BackupRequestService {
    private static final Logger LOG = Logger.getLogger(BackupRequestService.class);

    @Inject
    MeterRegistry registry;

    @WithTransaction
    @WithSpan("BackupRequestService.requestOnDemand")
    public Uni<BackupRequest> requestOnDemand(String sourceId, BackupType type, String policyId, String requestedBy) {
        return Source.<Source>findById(sourceId).chain(source -> {
            if (source == null) {
                throw new ProblemException(422, "Unknown source", "source '" + sourceId
                        + "' is not registered; register it with POST /api/v1/sources first");
            }
            if (policyId == null) {
                return Uni.createFrom().voidItem();
            }
            return Policy.<Policy>findById(policyId).invoke(p -> {
                if (p == null || !p.sourceId.equals(sourceId)) {
                    throw new ProblemException(422, "Unknown policy", "policy '" + policyId
                            + "' does not exist for source '" + sourceId + "'");
                }
            }).replaceWithVoid();
        }).chain(() -> record(UUID.randomUUID(), sourceId, type, policyId, requestedBy))
                .invoke(() -> registry.counter("lifeboat_backups_requested_total", "trigger", "http").increment());
    }

    /**
     * A policy's cron fired (or a missed slot is caught up). The backup id is derived from policy and fire time, so
     * several scheduler instances firing the same slot, or a catch-up of a slot that fired, record one request. The
     * policy remembers its latest slot fired, in the same transaction.
     */
    @WithTransaction
    @WithSpan("BackupRequestService.requestScheduled")
    public Uni<Void> requestScheduled(String policyId, Instant fireTime) {
        UUID backupId = UUID.fromString(Ids.backupIdForSchedule(policyId, fireTime));
        return Policy.<Policy>findById(policyId).chain(policy -> {
            if (policy == null || !policy.enabled) {
                return Uni.createFrom().voidItem();
            }
            if (policy.lastFireAt == null || policy.lastFireAt.isBefore(fireTime)) {
                policy.lastFireAt = fireTime;
            }
            return BackupRequest.<BackupRequest>findById(backupId).chain(existing -> existing != null
                    ? Uni.createFrom().voidItem()
                    : record(backupId, policy.sourceId, policy.type, policy.id, "schedule:" + policy.id)
                    .invoke(() -> registry.counter("lifeboat_backups_requested_total", "trigger", "schedule").increment())
                    .invoke(r -> LOG.infof("policy %s fired: backup %s of source %s requested", policyId,
                            r.backupId, r.sourceId))
                    .replaceWithVoid());
        });
    }

    @WithSession
    public Uni<BackupRequest> get(String backupId) {
        UUID id;
        try {
            id = UUID.fromString(backupId);
        } catch (IllegalArgumentException e) {
            throw ProblemException.notFound("backup", backupId);
        }
        return BackupRequest.<BackupRequest>findById(id)
                .onItem().ifNull().failWith(() -> ProblemException.notFound("backup", backupId));
    }

    private Uni<BackupRequest> record(UUID backupId, String sourceId, BackupType type, String policyId,
                                      String requestedBy) {
        BackupRequest r = new BackupRequest();
        r.backupId = backupId;
        r.sourceId = sourceId;
        r.type = type;
        r.policyId = policyId;
        r.requestedBy = requestedBy;
        r.requestedAt = Instant.now();
        r.status = BackupStatus.REQUESTED;
        OutboxEvent e = new OutboxEvent();
        e.id = UUID.randomUUID();
        e.topic = EventType.BACKUP_REQUESTED.topic();
        e.eventType = EventType.BACKUP_REQUESTED.ceType();
        e.messageKey = sourceId;
        e.payload = EventCodec.encodeData(new BackupRequested(backupId.toString(), sourceId, type, policyId, requestedBy));
        e.createdAt = r.requestedAt;
        return r.<BackupRequest>persist().call(e::persist);
    }
}
