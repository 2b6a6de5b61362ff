package dev.lifeboat.scheduler.messaging;

import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.InvalidEventException;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.retry.RetriesExhaustedException;
import dev.lifeboat.kit.retry.RetryPolicy;
import dev.lifeboat.scheduler.service.BackupWatchdog;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.time.Instant;

/**
 * Consumes lifeboat.backup.requested.v1 (channel requests-seen) so that a backup another system requested (the
 * {@code publisher} principal writes to the topic directly) has a row in the backup ledger, and the
 * {@link BackupWatchdog} resolves it when nobody works on it, as it does the scheduler's own requests. A request the
 * ledger already holds (the scheduler's own, a re-request) changes nothing. A record that is not a valid
 * BackupRequested is acked: snapshot-worker dead-letters it with the reason, once.
 */
@ApplicationScoped
public class RequestsSeenConsumer {
    private static final Logger LOG = Logger.getLogger(RequestsSeenConsumer.class);

    private final BackupWatchdog watchdog;
    private final RetryPolicy retry;
    private final Parking parking;

    public RequestsSeenConsumer(BackupWatchdog watchdog, RetryPolicy retry, Parking parking) {
        this.watchdog = watchdog;
        this.retry = retry;
        this.parking = parking;
    }

    @Incoming("requests-seen")
    public Uni<Void> onRequest(Message<String> message) {
        IncomingKafkaRecordMetadata<String, String> kafka = KafkaEvents.kafka(message);
        String origin = kafka.getTopic() + "-" + kafka.getPartition() + "@" + kafka.getOffset();
        CloudEvent<?> event;
        try {
            event = KafkaEvents.decode(message);
        } catch (InvalidEventException e) {
            LOG.debugf("%s is not a valid event, left to snapshot-worker's dead-letter handling: %s", origin,
                    e.getMessage());
            return Uni.createFrom().completionStage(message.ack());
        }
        if (!(event.data() instanceof BackupRequested request)) {
            return Uni.createFrom().completionStage(message.ack());
        }
        Instant publishedAt = kafka.getTimestamp();
        return retry.retryingOnContext(origin + ": recording the request",
                        () -> watchdog.requestSeen(request, publishedAt))
                .invoke(outcome -> LOG.debugf("%s: BackupRequested %s %s", origin, request.backupId(), outcome))
                .chain(() -> Uni.createFrom().completionStage(message.ack()))
                .onFailure(RetriesExhaustedException.class).recoverWithUni(e -> parking
                        .park(message, (RetriesExhaustedException) e)
                        .chain(() -> Uni.createFrom().completionStage(message.ack())));
    }
}
