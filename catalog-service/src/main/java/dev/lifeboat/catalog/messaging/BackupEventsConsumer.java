package dev.lifeboat.catalog.messaging;

import dev.lifeboat.catalog.domain.CatalogEvent;
import dev.lifeboat.catalog.domain.RecordOutcome;
import dev.lifeboat.catalog.service.BackupProgressStream;
import dev.lifeboat.catalog.service.CatalogMetrics;
import dev.lifeboat.catalog.service.EventRecorder;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.InvalidEventException;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.retry.RetriesExhaustedException;
import dev.lifeboat.kit.retry.RetryPolicy;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.util.List;

/**
 * Consumes lifeboat.backup.requested.v1 (channel backup-requests) and lifeboat.backup.events.v1 (channel
 * backup-events). A record is acked only once its transaction has committed, so the committed offset never
 * passes an event that is not in the catalog; a crash replays from there and the event id makes the replay
 * harmless. A recorded event wakes the progress streams of its backup open on this instance.
 */
@ApplicationScoped
public class BackupEventsConsumer {
    private static final Logger LOG = Logger.getLogger(BackupEventsConsumer.class);

    private final EventRecorder recorder;
    private final CatalogMetrics metrics;
    private final RetryPolicy retry;
    private final Parking parking;
    private final BackupProgressStream progress;

    public BackupEventsConsumer(EventRecorder recorder, CatalogMetrics metrics, RetryPolicy retry,
            Parking parking, BackupProgressStream progress) {
        this.recorder = recorder;
        this.metrics = metrics;
        this.retry = retry;
        this.parking = parking;
        this.progress = progress;
    }

    @Incoming("backup-requests")
    public Uni<Void> onBackupRequested(Message<String> message) {
        return consume("backup-requests", message);
    }

    @Incoming("backup-events")
    public Uni<Void> onBackupEvent(Message<String> message) {
        return consume("backup-events", message);
    }

    private Uni<Void> consume(String channel, Message<String> message) {
        IncomingKafkaRecordMetadata<String, String> kafka = KafkaEvents.kafka(message);
        String origin = kafka.getTopic() + "-" + kafka.getPartition() + "@" + kafka.getOffset();
        List<CatalogEvent> event;
        try {
            CloudEvent<?> decoded = KafkaEvents.decode(message);
            event = CatalogEvent.of(decoded, kafka.getTopic(), kafka.getPartition(), kafka.getOffset());
        } catch (InvalidEventException e) {
            // the failure strategy writes the record to lifeboat.dlq.v1 with e's message as dead-letter-reason
            LOG.warnf("%s is not a valid event, dead-lettered: %s", origin, e.getMessage());
            metrics.deadLettered(channel);
            return Uni.createFrom().completionStage(message.nack(e));
        }
        if (event.isEmpty()) {
            LOG.debugf("%s is about no backup, skipped", origin);
            return Uni.createFrom().completionStage(message.ack());
        }
        // one transaction per backup the event is about, one after the other; the record is acked after the last
        Uni<Void> all = Uni.createFrom().voidItem();
        for (CatalogEvent e : event) {
            all = all.chain(() -> recordUntilCommitted(e, origin)
                    .invoke(outcome -> {
                        if (outcome == RecordOutcome.RECORDED) {
                            metrics.recorded(e.type());
                            progress.changed(e.backupId());
                        } else {
                            metrics.duplicate(e.type());
                            LOG.debugf("%s: event %s of backup %s was recorded before", origin, e.eventId(),
                                    e.backupId());
                        }
                    })
                    .replaceWithVoid());
        }
        return all.chain(() -> Uni.createFrom().completionStage(message.ack()))
                .onFailure(RetriesExhaustedException.class).recoverWithUni(e -> parking
                        .park(message, (RetriesExhaustedException) e)
                        .chain(() -> Uni.createFrom().completionStage(message.ack())));
    }

    private Uni<RecordOutcome> recordUntilCommitted(CatalogEvent event, String origin) {
        return retry.retryingOnContext(origin + ": recording event " + event.eventId(), () -> recorder.record(event));
    }
}
