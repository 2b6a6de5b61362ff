package dev.lifeboat.catalog.messaging;

import dev.lifeboat.catalog.domain.RecordOutcome;
import dev.lifeboat.catalog.domain.RecoveryEvent;
import dev.lifeboat.catalog.service.CatalogMetrics;
import dev.lifeboat.catalog.service.RecoveryRecorder;
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

import java.util.Optional;

/**
 * Consumes lifeboat.recovery.events.v1 (channel recovery-events): RecoveryStarted and RecoveryFinished of
 * recovery and drill runs. Same guarantees as the backup channels: acked after the transaction commits, invalid
 * records nacked into the dead-letter topic, the event id makes redelivery harmless.
 */
@ApplicationScoped
public class RecoveryEventsConsumer {
    private static final Logger LOG = Logger.getLogger(RecoveryEventsConsumer.class);
    private static final String CHANNEL = "recovery-events";

    private final RecoveryRecorder recorder;
    private final CatalogMetrics metrics;
    private final RetryPolicy retry;
    private final Parking parking;

    public RecoveryEventsConsumer(RecoveryRecorder recorder, CatalogMetrics metrics, RetryPolicy retry,
            Parking parking) {
        this.recorder = recorder;
        this.metrics = metrics;
        this.retry = retry;
        this.parking = parking;
    }

    @Incoming(CHANNEL)
    public Uni<Void> onRecoveryEvent(Message<String> message) {
        IncomingKafkaRecordMetadata<String, String> kafka = KafkaEvents.kafka(message);
        String origin = kafka.getTopic() + "-" + kafka.getPartition() + "@" + kafka.getOffset();
        Optional<RecoveryEvent> event;
        try {
            CloudEvent<?> decoded = KafkaEvents.decode(message);
            event = RecoveryEvent.of(decoded);
        } catch (InvalidEventException e) {
            // the failure strategy writes the record to lifeboat.dlq.v1 with e's message as dead-letter-reason
            LOG.warnf("%s is not a valid event, dead-lettered: %s", origin, e.getMessage());
            metrics.deadLettered(CHANNEL);
            return Uni.createFrom().completionStage(message.nack(e));
        }
        if (event.isEmpty()) {
            LOG.debugf("%s is not a run lifecycle event, skipped", origin);
            return Uni.createFrom().completionStage(message.ack());
        }
        RecoveryEvent e = event.get();
        return recordUntilCommitted(e, origin)
                .invoke(outcome -> {
                    if (outcome == RecordOutcome.RECORDED) {
                        metrics.recorded(e.type());
                    } else {
                        metrics.duplicate(e.type());
                        LOG.debugf("%s: event %s of run %s was recorded before", origin, e.eventId(), e.runId());
                    }
                })
                .chain(() -> Uni.createFrom().completionStage(message.ack()))
                .onFailure(RetriesExhaustedException.class).recoverWithUni(t -> parking
                        .park(message, (RetriesExhaustedException) t)
                        .chain(() -> Uni.createFrom().completionStage(message.ack())));
    }

    private Uni<RecordOutcome> recordUntilCommitted(RecoveryEvent event, String origin) {
        return retry.retryingOnContext(origin + ": recording event " + event.eventId(), () -> recorder.record(event));
    }
}
