package dev.lifeboat.snapshot.messaging;

import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.retry.RetriesExhaustedException;
import dev.lifeboat.kit.retry.RetryPolicy;
import dev.lifeboat.kit.retry.Transience;
import dev.lifeboat.snapshot.service.SnapshotService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Consumes lifeboat.backup.requested.v1 (keyed by source id). Invalid records are nacked into lifeboat.dlq.v1; a
 * valid request is handed to its source's lane ({@link SourceLanes}: several sources at once, one source's backups
 * in order) and acked only after its outcome event is sent, or after it was parked on lifeboat.parked.v1 when an
 * outage outlasted the retry window; offsets are committed up to the oldest request not acked yet, so a crash
 * redelivers every unfinished one.
 */
@ApplicationScoped
public class BackupRequestConsumer {
    private static final Logger LOG = Logger.getLogger(BackupRequestConsumer.class);
    /**
     * Longer than a Kafka send can take to fail (max.block.ms, 1 minute by default, then delivery.timeout.ms, 2
     * minutes).
     */
    private static final Duration SETTLE_TIMEOUT = Duration.ofMinutes(4);

    @Inject
    SnapshotService snapshots;
    @Inject
    SourceLanes lanes;
    @Inject
    RetryPolicy retry;
    @Inject
    Parking parking;

    @Incoming("backup-requests")
    @Blocking
    public CompletionStage<Void> consume(Message<String> message) {
        BackupRequested request;
        try {
            CloudEvent<?> event = KafkaEvents.decode(message);
            if (!(event.data() instanceof BackupRequested r)) {
                return message.nack(new IllegalArgumentException("unexpected event type " + event.type().ceType()
                        + " on the backup request topic"));
            }
            request = r;
        } catch (RuntimeException e) {
            return message.nack(e);
        }
        if (request.backupId() == null) {
            IncomingKafkaRecordMetadata<String, String> k = KafkaEvents.kafka(message);
            request = request.withBackupId(Ids.backupIdForRecord(k.getTopic(), k.getPartition(), k.getOffset()));
        }
        BackupRequested accepted = request;
        try {
            lanes.submit(request.sourceId(), () -> settle(accepted, runWithRetries(accepted, message)));
        } catch (InterruptedException e) {
            // shutting down: neither acked nor dead-lettered, the request is redelivered after the restart
            Thread.currentThread().interrupt();
            return CompletableFuture.completedFuture(null);
        }
        // not acked here: the lane acks (or nacks) the record when the backup has ended
        return CompletableFuture.completedFuture(null);
    }

    /**
     * Waits, on the lane, until the record is acked, parked or nacked, so the source's next request starts after it
     * and a failure to settle it is said: a park or dead-letter that Kafka did not take leaves the record
     * unacknowledged (its offset is not committed past it), and it is delivered again after a restart or rebalance.
     * The lane goes on after {@link #SETTLE_TIMEOUT} whatever the outcome.
     */
    private static void settle(BackupRequested request, CompletionStage<Void> settled) {
        try {
            settled.toCompletableFuture().get(SETTLE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            LOG.errorf("backup %s of source %s: its request could not be acknowledged, parked or dead-lettered; it "
                    + "stays unacknowledged and is delivered again after a restart or rebalance: %s",
                    request.backupId(), request.sourceId(), String.valueOf(e.getCause()));
        } catch (TimeoutException e) {
            LOG.errorf("backup %s of source %s: its request was not acknowledged, parked or dead-lettered within %s; "
                    + "the source's next request goes ahead; unless it is settled later, it is delivered again after "
                    + "a restart or rebalance", request.backupId(), request.sourceId(), SETTLE_TIMEOUT);
        }
    }

    /**
     * The database, the object store, scheduler-service or Kafka being away must not lose a valid request: the
     * platform's retry policy rides the outage out; past its window the request is parked (not dead-lettered), from
     * where it is replayed once the cause is fixed, and so is one refused by a server this service needs
     * ({@link Transience#isRefusal}: a missing ACL or grant). Another permanent failure nacks it into the dead-letter
     * topic.
     */
    private CompletionStage<Void> runWithRetries(BackupRequested request, Message<String> message) {
        try {
            retry.run("backup " + request.backupId() + " of source " + request.sourceId(),
                    () -> snapshots.backup(request));
            return message.ack();
        } catch (RetriesExhaustedException e) {
            return parking.park(message, e).subscribeAsCompletionStage().thenCompose(done -> message.ack());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // shutting down: unacknowledged, the request is redelivered after the restart
            LOG.infof("backup %s: interrupted while retrying, left for redelivery", request.backupId());
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            if (Transience.isRefusal(e)) {
                // the request is valid: a grant this service lacks (a topic's ACL, the ledger's privileges) refused it
                return parking.park(message, "backup " + request.backupId() + " of source " + request.sourceId()
                        + " refused: " + e, 1).subscribeAsCompletionStage().thenCompose(done -> message.ack());
            }
            return message.nack(new IllegalStateException("backup " + request.backupId() + " failed: "
                    + e.getMessage(), e));
        }
    }
}
