package dev.lifeboat.storage.service;

import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.storage.messaging.BackupEventPublisher;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.util.Map;

/**
 * What a BackupsExpired leads to: every listed backup that {@link ExpiryGuard} allows (sealed here for the named
 * source and policy, and not kept by the policy's retention recomputed here) is deleted and its BackupDeleted sent;
 * the others are logged with the reason and counted. Each deletion queues a garbage-collection pass over its
 * repository in the same transaction, run off this path ({@link StorageJobRunner}).
 */
@ApplicationScoped
public class ExpiryService {
    private static final Logger LOG = Logger.getLogger(ExpiryService.class);

    private final ExpiryGuard guard;
    private final DeletionService deleter;
    private final BackupEventPublisher publisher;
    private final StorageMetrics metrics;

    public ExpiryService(ExpiryGuard guard, DeletionService deleter, BackupEventPublisher publisher,
                         StorageMetrics metrics) {
        this.guard = guard;
        this.deleter = deleter;
        this.publisher = publisher;
        this.metrics = metrics;
    }

    /**
     * Applies {@code expired}. Throws on transient failures (scheduler, object store, database, Kafka); a backup
     * deleted before (redelivery, or an earlier attempt) is not deleted again and its stored event is re-emitted, so
     * the caller retries the whole call.
     */
    @WithSpan("ExpiryService.apply")
    public void apply(BackupsExpired expired) {
        Map<String, ExpiryGuard.Verdict> verdicts = guard.check(expired);
        for (String id : expired.backupIds()) {
            ExpiryGuard.Verdict verdict = verdicts.get(id);
            if (!verdict.allowed()) {
                metrics.deletionRefused(verdict.refusal().name());
                LOG.warnf("BackupsExpired of policy %s (source %s) names backup %s: not deleted, %s",
                        expired.policyId(), expired.sourceId(), id, verdict.reason());
                continue;
            }
            try {
                deleter.delete(expired, id).ifPresent(publisher::publish);
            } catch (RuntimeException e) {
                throw new IllegalStateException("deleting backup " + id + " failed: " + e.getMessage(), e);
            }
        }
    }
}
