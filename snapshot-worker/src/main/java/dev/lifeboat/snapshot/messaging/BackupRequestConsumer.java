package dev.lifeboat.snapshot.messaging;

import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.snapshot.service.SnapshotService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Consumes lifeboat.backup.requested.v1 (keyed by source id). Invalid records are nacked into lifeboat.dlq.v1; a
 * valid request is handed to its source's lane ({@link SourceLanes}: several sources at once, one source's backups
 * in order) and acked only after its outcome event is sent; offsets are committed up to the oldest request not
 * acked yet, so a crash redelivers every unfinished one.
 */
@ApplicationScoped
public class BackupRequestConsumer {
    private static final Logger LOG = Logger.getLogger(BackupRequestConsumer.class);
    private static final int MAX_ATTEMPTS = 6;
    private static final long FIRST_RETRY_DELAY_MS = 1000;

    @Inject
    SnapshotService snapshots;
    @Inject
    SourceLanes lanes;

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
            lanes.submit(request.sourceId(), () -> runWithRetries(accepted, message));
        } catch (InterruptedException e) {
            // shutting down: neither acked nor dead-lettered, the request is redelivered after the restart
            Thread.currentThread().interrupt();
            return CompletableFuture.completedFuture(null);
        }
        // not acked here: the lane acks (or nacks) the record when the backup has ended
        return CompletableFuture.completedFuture(null);
    }

    /**
     * The database or Kafka being briefly away must not lose a valid request: retry with backoff, and only
     * then dead-letter it (with the reason), from where it can be replayed.
     */
    private CompletionStage<Void> runWithRetries(BackupRequested request, Message<String> message) {
        long delay = FIRST_RETRY_DELAY_MS;
        for (int attempt = 1; ; attempt++) {
            try {
                snapshots.backup(request);
                return message.ack();
            } catch (RuntimeException e) {
                if (attempt >= MAX_ATTEMPTS) {
                    return message.nack(new IllegalStateException("backup " + request.backupId() + " gave up after "
                            + attempt + " attempts: " + e.getMessage(), e));
                }
                LOG.warnf("backup %s attempt %d failed, retrying in %d ms: %s", request.backupId(), attempt, delay,
                        e.getMessage());
                try {
                    Thread.sleep(delay);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return message.nack(e);
                }
                delay = Math.min(delay * 2, 30_000);
            }
        }
    }
}
