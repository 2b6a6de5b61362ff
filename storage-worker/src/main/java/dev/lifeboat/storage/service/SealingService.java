package dev.lifeboat.storage.service;

import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.kit.fault.CrashPoint;
import dev.lifeboat.kit.fault.CrashPoints;
import dev.lifeboat.storage.messaging.BackupEventPublisher;
import dev.lifeboat.storage.repository.OffsiteCopy;
import dev.lifeboat.storage.repository.SealedBackup;
import dev.lifeboat.storage.repository.StorageJobRepository;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.util.Optional;

/**
 * What a SnapshotCreated leads to on the sealing path, kept short: the verdict ({@link SealService}, which queues the
 * offsite copy with the seal) and its BackupCompleted or BackupFailed. The copy is let run once that event went out,
 * and runs off this path ({@link StorageJobRunner}). A redelivered SnapshotCreated re-emits the stored verdict and, when the copy has ended,
 * its stored outcome; a copy that was given up is queued again, if the redelivery names the policy's offsite
 * destination ({@link DestinationGuard}).
 */
@ApplicationScoped
public class SealingService {
    private static final Logger LOG = Logger.getLogger(SealingService.class);

    private final SealService sealer;
    private final OffsiteCopyService copier;
    private final StorageJobRepository jobs;
    private final BackupEventPublisher publisher;
    private final CrashPoints crashPoints;
    private final DestinationGuard destinations;
    private final StorageMetrics metrics;

    public SealingService(SealService sealer, OffsiteCopyService copier, StorageJobRepository jobs,
                          BackupEventPublisher publisher, CrashPoints crashPoints, DestinationGuard destinations,
                          StorageMetrics metrics) {
        this.sealer = sealer;
        this.copier = copier;
        this.jobs = jobs;
        this.publisher = publisher;
        this.crashPoints = crashPoints;
        this.destinations = destinations;
        this.metrics = metrics;
    }

    /**
     * Seals and reports {@code snapshot}, its events keyed {@code key}. Throws on transient failures (object store,
     * database, Kafka); everything it does is idempotent, so the caller retries the whole call.
     */
    @WithSpan("SealingService.sealAndPublish")
    public void sealAndPublish(SnapshotCreated snapshot, String key) {
        Optional<SealedBackup> sealed = sealer.seal(snapshot, key);
        if (sealed.isEmpty()) {
            return;
        }
        crashPoints.reached(CrashPoint.WHILE_SEALING, "backup " + snapshot.backupId());
        publisher.publish(sealed.get(), key);
        if (OffsiteCopyService.wanted(snapshot, sealed.get())) {
            Optional<OffsiteCopy> copied = copier.outcome(snapshot.backupId());
            if (copied.isPresent()) {
                publisher.publish(copied.get(), key);
                return;
            }
            // the stored verdict answered this delivery unchecked: the copy is of the object sealed, nothing else
            Optional<String> other = SealService.notTheSealedObject(snapshot, sealed.get());
            if (other.isPresent()) {
                metrics.sealRefused("NOT_THE_SEALED_OBJECT");
                LOG.warnf("redelivered backup %s: no offsite copy queued: %s", snapshot.backupId(), other.get());
                return;
            }
            // and to the policy's offsite destination
            Optional<DestinationGuard.Refused> elsewhere = destinations.checkOffsite(snapshot);
            if (elsewhere.isPresent()) {
                metrics.sealRefused(elsewhere.get().refusal().name());
                LOG.warnf("redelivered backup %s: no offsite copy queued: %s", snapshot.backupId(),
                        elsewhere.get().reason());
                return;
            }
            // no-op while the copy queued with the seal is pending; queues it again after it was given up
            jobs.add(OffsiteCopyService.job(snapshot, key).released());
            jobs.release(OffsiteCopyService.subject(snapshot));
        }
    }
}
