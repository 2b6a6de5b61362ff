package dev.lifeboat.storage.messaging;

import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.InvalidEventException;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.retry.RetriesExhaustedException;
import dev.lifeboat.kit.retry.RetryPolicy;
import dev.lifeboat.kit.retry.Transience;
import dev.lifeboat.storage.repository.DeletedBackup;
import dev.lifeboat.storage.repository.SealedBackup;
import dev.lifeboat.storage.service.DeletionService;
import dev.lifeboat.storage.service.ExpiryGuard;
import dev.lifeboat.storage.service.OffsiteCopyService;
import dev.lifeboat.storage.service.GarbageCollectionService;
import dev.lifeboat.storage.service.SealService;
import dev.lifeboat.storage.service.StorageMetrics;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.reactive.messaging.TracingMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Consumes lifeboat.backup.events.v1 (channel {@code snapshots}) and acts on SnapshotCreated (verify and seal, then
 * copy offsite where the policy asks) and BackupsExpired (delete the expired backups it sealed, then a
 * garbage-collection pass on their repositories); the other lifecycle events on the topic (progress,
 * completed, failed, ...) are acknowledged and skipped. A record that
 * is not a valid event is nacked into lifeboat.dlq.v1 with the reason, and consumption goes on; a valid one whose
 * work still fails transiently at the end of the retry window is parked on lifeboat.parked.v1.
 */
@ApplicationScoped
public class SnapshotCreatedConsumer {
    private static final Logger LOG = Logger.getLogger(SnapshotCreatedConsumer.class);

    private final SealService sealer;
    private final DeletionService deleter;
    private final ExpiryGuard guard;
    private final OffsiteCopyService copier;
    private final GarbageCollectionService gc;
    private final BackupEventPublisher publisher;
    private final RetryPolicy retry;
    private final Parking parking;
    private final StorageMetrics metrics;

    public SnapshotCreatedConsumer(SealService sealer, DeletionService deleter, ExpiryGuard guard,
                                   OffsiteCopyService copier, GarbageCollectionService gc,
                                   BackupEventPublisher publisher, RetryPolicy retry, Parking parking,
                                   StorageMetrics metrics) {
        this.guard = guard;
        this.gc = gc;
        this.sealer = sealer;
        this.deleter = deleter;
        this.copier = copier;
        this.publisher = publisher;
        this.retry = retry;
        this.parking = parking;
        this.metrics = metrics;
    }

    // Blocking: verification reads whole archives from the object store; ordered (the default), so one
    // partition's records are sealed one after the other and offsets are committed in order.
    @Incoming("snapshots")
    @Blocking
    public CompletionStage<Void> onBackupEvent(Message<String> message) {
        CloudEvent<?> event;
        try {
            event = KafkaEvents.decode(message);
        } catch (InvalidEventException e) {
            var kafka = KafkaEvents.kafka(message);
            LOG.warnf("record %s-%d@%d is not a valid event, sending it to the dead-letter topic: %s",
                    kafka.getTopic(), kafka.getPartition(), kafka.getOffset(), e.getMessage());
            return message.nack(e);
        }
        if (event.data() instanceof BackupsExpired expired) {
            return onExpired(message, expired);
        }
        if (!(event.data() instanceof SnapshotCreated snapshot)) {
            return message.ack();
        }
        Context parent = TracingMetadata.fromMessage(message).map(TracingMetadata::getCurrentContext)
                .orElse(Context.current());
        try (Scope ignored = parent.makeCurrent()) {
            sealAndPublish(snapshot, key(message, snapshot));
            return message.ack();
        } catch (RetriesExhaustedException e) {
            return parking.park(message, e).subscribeAsCompletionStage().thenCompose(done -> message.ack());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // shutting down: leave the record unacknowledged so that it is redelivered after the restart
            LOG.infof("backup %s: interrupted while retrying, left for redelivery", snapshot.backupId());
            return CompletableFuture.completedFuture(null);
        }
    }

    /**
     * Deletes every listed backup that {@link ExpiryGuard} allows (sealed here for the named source and policy, and
     * not kept by the policy's retention recomputed here), one after the other, each with its own retries; the
     * others are logged with the reason and counted, and the rest of the record goes on. A backup deleted before
     * (redelivery, or an earlier attempt) is not deleted again and its event is re-emitted.
     */
    private CompletionStage<Void> onExpired(Message<String> message, BackupsExpired expired) {
        Context parent = TracingMetadata.fromMessage(message).map(TracingMetadata::getCurrentContext)
                .orElse(Context.current());
        String backupId = null;
        try (Scope ignored = parent.makeCurrent()) {
            Set<GarbageCollectionService.Location> touched = new TreeSet<>();
            Map<String, ExpiryGuard.Verdict> verdicts = new LinkedHashMap<>();
            retrying("checking the expiry against retention", expired.policyId(),
                    () -> verdicts.putAll(guard.check(expired)));
            for (String id : expired.backupIds()) {
                backupId = id;
                ExpiryGuard.Verdict verdict = verdicts.get(id);
                if (!verdict.allowed()) {
                    metrics.deletionRefused(verdict.refusal().name());
                    LOG.warnf("BackupsExpired of policy %s (source %s) names backup %s: not deleted, %s",
                            expired.policyId(), expired.sourceId(), id, verdict.reason());
                    continue;
                }
                retrying("deletion", id, () -> {
                    Optional<DeletedBackup> deletion = deleter.delete(expired, id);
                    deletion.ifPresent(publisher::publish);
                    deletion.flatMap(DeletionService::repositoryOf).ifPresent(touched::add);
                });
            }
            // the deletions are done and their events sent whatever happens here: collection is best effort and
            // the scheduled pass repeats it
            try {
                gc.afterExpiry(touched);
            } catch (RuntimeException e) {
                LOG.warnf("gc after the expiry of policy %s did not run: %s", expired.policyId(), e.getMessage());
            }
            return message.ack();
        } catch (RetriesExhaustedException e) {
            LOG.errorf("expiry of policy %s stopped at backup %s", expired.policyId(), backupId);
            return parking.park(message, e).subscribeAsCompletionStage().thenCompose(done -> message.ack());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.infof("expiry of policy %s: interrupted while retrying, left for redelivery", expired.policyId());
            return CompletableFuture.completedFuture(null);
        }
    }

    /**
     * A verdict (completed or failed) is a result, not an error. Errors here are the object store, the database
     * or Kafka failing; they are retried with exponential backoff, since nothing is recorded before they pass.
     */
    private void sealAndPublish(SnapshotCreated snapshot, String key)
            throws RetriesExhaustedException, InterruptedException {
        SealedBackup[] sealed = new SealedBackup[1];
        retrying("sealing", snapshot.backupId(), () -> {
            sealed[0] = sealer.seal(snapshot).orElse(null);
            if (sealed[0] != null) {
                publisher.publish(sealed[0], key);
            }
        });
        if (sealed[0] != null && OffsiteCopyService.wanted(snapshot, sealed[0])) {
            copyOffsite(snapshot, key);
        }
    }

    /**
     * After BackupCompleted went out: the offsite copy, with its own retries. When the store keeps failing, the
     * copy is reported as BackupCopyFailed (retryable) instead of dead-lettering the SnapshotCreated: the primary
     * backup is sealed and reported, and replaying the record later copies what is still missing.
     */
    private void copyOffsite(SnapshotCreated snapshot, String key)
            throws RetriesExhaustedException, InterruptedException {
        try {
            retrying("offsite copy", snapshot.backupId(), () -> publisher.publish(copier.copy(snapshot), key));
        } catch (RetriesExhaustedException e) {
            LOG.errorf("backup %s: %s; reported as BackupCopyFailed, replay the SnapshotCreated to try again",
                    snapshot.backupId(), e.getMessage());
            retrying("reporting the failed offsite copy", snapshot.backupId(),
                    () -> publisher.publish(copier.gaveUp(snapshot, "copy to s3://" + snapshot.offsite().bucket()
                            + "/" + snapshot.offsite().prefix() + " " + e.getMessage()), key));
        }
    }

    /** Runs {@code work} under the platform's retry policy, counting the retries. */
    private void retrying(String what, String backupId, Runnable work) throws RetriesExhaustedException,
            InterruptedException {
        retry.run(what + " of " + backupId, () -> {
            try {
                work.run();
            } catch (RuntimeException e) {
                if (Transience.isTransient(e)) {
                    metrics.retried();
                }
                throw e;
            }
        });
    }

    /**
     * Outcome events use the key of the SnapshotCreated record, so all lifecycle events of one backup share a
     * partition and readers see them in order, whatever key the producer chose.
     */
    private static String key(Message<String> message, SnapshotCreated snapshot) {
        String key = KafkaEvents.kafka(message).getKey();
        return key == null || key.isBlank() ? snapshot.sourceId() : key;
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }
}
