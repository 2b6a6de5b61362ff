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
import dev.lifeboat.storage.service.ExpiryService;
import dev.lifeboat.storage.service.SealingService;
import dev.lifeboat.storage.service.StorageMetrics;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.reactive.messaging.TracingMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Consumes lifeboat.backup.events.v1 (channel {@code snapshots}): decodes each record, and dispatches SnapshotCreated
 * to {@link SealingService} (verify, seal, report) and BackupsExpired to {@link ExpiryService} (delete what
 * retention expired); the other lifecycle events on the topic (progress, completed, failed, ...) are acknowledged
 * and skipped. Long storage work (offsite copies, garbage collection) is only queued here, so each record is
 * handled quickly. A record that is not a valid event is nacked into lifeboat.dlq.v1 with the reason, and
 * consumption goes on; a valid one whose work still fails transiently at the end of the retry window, or is refused
 * (Kafka, the object store or the database refusing this service: {@link Transience#isRefusal}), is parked on
 * lifeboat.parked.v1 with the reason, from where it can be replayed once the cause is fixed.
 */
@ApplicationScoped
public class BackupLifecycleConsumer {
    private static final Logger LOG = Logger.getLogger(BackupLifecycleConsumer.class);

    private final SealingService sealing;
    private final ExpiryService expiry;
    private final RetryPolicy retry;
    private final Parking parking;
    private final StorageMetrics metrics;

    public BackupLifecycleConsumer(SealingService sealing, ExpiryService expiry, RetryPolicy retry, Parking parking,
                                   StorageMetrics metrics) {
        this.sealing = sealing;
        this.expiry = expiry;
        this.retry = retry;
        this.parking = parking;
        this.metrics = metrics;
    }

    // Blocking: sealing reads the manifest and checks the chunks in the object store; ordered (the default), so one
    // partition's records are handled one after the other and offsets are committed in order.
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
        if (event.data() instanceof SnapshotCreated snapshot) {
            String key = key(message, snapshot);
            // where the record says the backup is, in every log line and park reason: a refusal to read a bucket
            // the record named is not a grant to widen
            return handle(message, "sealing", "backup " + snapshot.backupId() + " at s3://" + snapshot.bucket() + "/"
                    + snapshot.objectKey(), () -> sealing.sealAndPublish(snapshot, key));
        }
        if (event.data() instanceof BackupsExpired expired) {
            return handle(message, "expiry", "policy " + expired.policyId(), () -> expiry.apply(expired));
        }
        return message.ack();
    }

    /**
     * Runs {@code work} in the record's trace with retries of transient failures, then acks; a transient failure that
     * outlasts the retry window, or a refusal of this service, parks the record; another permanent one nacks it into
     * the dead-letter topic with the reason.
     */
    private CompletionStage<Void> handle(Message<String> message, String what, String of, Runnable work) {
        Context parent = TracingMetadata.fromMessage(message).map(TracingMetadata::getCurrentContext)
                .orElse(Context.current());
        try (Scope ignored = parent.makeCurrent()) {
            retrying(what, of, work);
            return message.ack();
        } catch (RetriesExhaustedException e) {
            LOG.errorf("%s: %s; the record is parked and can be replayed once the cause is fixed", of, e.getMessage());
            return parking.park(message, e).subscribeAsCompletionStage().thenCompose(done -> message.ack());
        } catch (RuntimeException e) {
            if (Transience.isRefusal(e)) {
                // the record is valid: a grant this service lacks (a topic's ACL, the bucket's policy) refused it
                return parking.park(message, of + ": " + what + " refused: " + describe(e), 1)
                        .subscribeAsCompletionStage().thenCompose(done -> message.ack());
            }
            LOG.errorf("%s: %s failed: %s; the record goes to the dead-letter topic", of, what, describe(e));
            return message.nack(new IllegalStateException(what + " failed: " + describe(e), e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // shutting down: leave the record unacknowledged so that it is redelivered after the restart
            LOG.infof("%s: interrupted while retrying %s, left for redelivery", of, what);
            return CompletableFuture.completedFuture(null);
        }
    }

    /** Runs {@code work} under the platform's retry policy, counting the retries. */
    private void retrying(String what, String of, Runnable work) throws RetriesExhaustedException,
            InterruptedException {
        retry.run(what + " of " + of, () -> {
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
