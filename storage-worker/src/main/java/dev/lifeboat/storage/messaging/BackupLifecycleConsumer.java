package dev.lifeboat.storage.messaging;

import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.InvalidEventException;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.storage.config.StorageConfig;
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

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Consumes lifeboat.backup.events.v1 (channel {@code snapshots}): decodes each record, and dispatches SnapshotCreated
 * to {@link SealingService} (verify, seal, report) and BackupsExpired to {@link ExpiryService} (delete what
 * retention expired); the other lifecycle events on the topic (progress, completed, failed, ...) are acknowledged
 * and skipped. Long storage work (offsite copies, garbage collection) is only queued here, so each record is
 * handled quickly. A record that is not a valid event is nacked into lifeboat.dlq.v1 with the reason, and
 * consumption goes on.
 */
@ApplicationScoped
public class BackupLifecycleConsumer {
    private static final Logger LOG = Logger.getLogger(BackupLifecycleConsumer.class);

    private final SealingService sealing;
    private final ExpiryService expiry;
    private final StorageConfig.Retry retry;
    private final StorageMetrics metrics;

    public BackupLifecycleConsumer(SealingService sealing, ExpiryService expiry, StorageConfig config,
                                   StorageMetrics metrics) {
        this.sealing = sealing;
        this.expiry = expiry;
        this.retry = config.retry();
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
            return handle(message, "sealing", "backup " + snapshot.backupId(),
                    () -> sealing.sealAndPublish(snapshot, key));
        }
        if (event.data() instanceof BackupsExpired expired) {
            return handle(message, "expiry", "policy " + expired.policyId(), () -> expiry.apply(expired));
        }
        return message.ack();
    }

    /**
     * Runs {@code work} in the record's trace with retries of transient failures, then acks; a failure that outlasts
     * the retries nacks the record into the dead-letter topic, from where it can be replayed once the cause is fixed.
     */
    private CompletionStage<Void> handle(Message<String> message, String what, String of, Runnable work) {
        Context parent = TracingMetadata.fromMessage(message).map(TracingMetadata::getCurrentContext)
                .orElse(Context.current());
        try (Scope ignored = parent.makeCurrent()) {
            retrying(what, of, work);
            return message.ack();
        } catch (GaveUpException e) {
            LOG.errorf("%s: %s; the record goes to the dead-letter topic and can be replayed once the cause is "
                    + "fixed", of, e.getMessage());
            return message.nack(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // shutting down: leave the record unacknowledged so that it is redelivered after the restart
            LOG.infof("%s: interrupted while retrying %s, left for redelivery", of, what);
            return CompletableFuture.completedFuture(null);
        }
    }

    /** Runs {@code work} until it passes, with exponential backoff, at most {@code maxAttempts} times. */
    private void retrying(String what, String of, Runnable work) throws GaveUpException, InterruptedException {
        Duration backoff = retry.initialBackoff();
        for (int attempt = 1; ; attempt++) {
            try {
                work.run();
                return;
            } catch (RuntimeException e) {
                if (attempt >= retry.maxAttempts()) {
                    throw new GaveUpException(what + " gave up after " + attempt + " attempts: " + describe(e), e);
                }
                metrics.retried();
                LOG.warnf("%s: %s attempt %d of %d failed, retrying in %s: %s", of, what, attempt,
                        retry.maxAttempts(), backoff, describe(e));
                Thread.sleep(backoff.toMillis());
                backoff = backoff.multipliedBy(2).compareTo(retry.maxBackoff()) > 0 ? retry.maxBackoff()
                        : backoff.multipliedBy(2);
            }
        }
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

    /** The transient failure outlasted every retry. Its message is the dead-letter reason. */
    static final class GaveUpException extends Exception {
        GaveUpException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
