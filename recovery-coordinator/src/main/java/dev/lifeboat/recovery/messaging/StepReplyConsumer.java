package dev.lifeboat.recovery.messaging;

import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.InvalidEventException;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.retry.RetriesExhaustedException;
import dev.lifeboat.kit.retry.RetryPolicy;
import dev.lifeboat.recovery.service.SagaEngine;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Consumes the participants' reply topics (channel step-replies, {@link Topics#RECOVERY_REPLIES}). The topic a reply
 * comes on names the service that sent it: only that service may write there. A reply is applied in one transaction
 * and the record acked after it commits; duplicates and replies for unknown or finished commands change nothing (the
 * engine only accepts the run's pending commandId). Invalid records go to lifeboat.dlq.v1 with the reason; a reply
 * that cannot be recorded for the whole retry window is parked on lifeboat.parked.v1.
 */
@ApplicationScoped
public class StepReplyConsumer {
    private static final Logger LOG = Logger.getLogger(StepReplyConsumer.class);

    private final SagaEngine engine;
    private final RetryPolicy retry;
    private final Parking parking;

    public StepReplyConsumer(SagaEngine engine, RetryPolicy retry, Parking parking) {
        this.engine = engine;
        this.retry = retry;
        this.parking = parking;
    }

    @Incoming("step-replies")
    @Blocking
    public CompletionStage<Void> onReply(Message<String> message) {
        IncomingKafkaRecordMetadata<String, String> kafka = KafkaEvents.kafka(message);
        String origin = kafka.getTopic() + "-" + kafka.getPartition() + "@" + kafka.getOffset();
        String ceType = EventCodec.header(kafka.getHeaders(), EventCodec.H_TYPE);
        if (ceType != null && !EventType.STEP_REPLIED.ceType().equals(ceType)) {
            return message.ack();
        }
        CloudEvent<?> event;
        try {
            event = KafkaEvents.decode(message);
        } catch (InvalidEventException e) {
            LOG.warnf("%s is not a valid event, dead-lettered: %s", origin, e.getMessage());
            return message.nack(e);
        }
        Optional<String> service = Topics.replyingService(kafka.getTopic());
        if (service.isEmpty()) {
            InvalidEventException e = new InvalidEventException(kafka.getTopic() + " is no participant's reply topic");
            LOG.warnf("%s: %s, dead-lettered", origin, e.getMessage());
            return message.nack(e);
        }
        StepReply reply = (StepReply) event.data();
        try {
            retry.run(origin + ": recording reply " + reply.commandId(), () -> engine.onReply(reply, service.get()));
            return message.ack();
        } catch (RetriesExhaustedException e) {
            // the run's deadline still fires, so the saga does not hang on a reply it could not record
            return parking.park(message, e).subscribeAsCompletionStage().thenCompose(done -> message.ack());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.infof("%s: interrupted while retrying, left for redelivery", origin);
            return CompletableFuture.completedFuture(null);
        }
    }
}
