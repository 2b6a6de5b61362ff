package dev.lifeboat.kit.recovery;

import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.kit.messaging.KafkaEvents;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.smallrye.reactive.messaging.TracingMetadata;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * How a participant takes one record from lifeboat.recovery.commands.v1: invalid records are nacked into
 * lifeboat.dlq.v1 with the reason; commands of other participants are acked untouched; its own commands are
 * handed to {@code handler} inside the sender's trace context. The handler throwing means the ledger or Kafka
 * failed: the delivery is retried with backoff until it passes or the worker stops, never dead-lettered, since the
 * coordinator waits for the reply.
 */
public final class CommandDelivery {
    private static final Logger LOG = Logger.getLogger(CommandDelivery.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    /** Does the command once and replies; throws only when no reply could be recorded or sent. */
    @FunctionalInterface
    public interface Handler {
        void handle(RecoveryCommand command, EventType type) throws InterruptedException;
    }

    private final Set<EventType> handled;
    private final Handler handler;

    public CommandDelivery(Set<EventType> handled, Handler handler) {
        this.handled = Set.copyOf(handled);
        this.handler = handler;
    }

    /** Call from a blocking {@code @Incoming} method. */
    public CompletionStage<Void> deliver(Message<String> message) {
        CloudEvent<?> event;
        try {
            event = KafkaEvents.decode(message);
        } catch (RuntimeException e) {
            var kafka = KafkaEvents.kafka(message);
            LOG.warnf("record %s-%d@%d is not a valid event, sending it to the dead-letter topic: %s",
                    kafka.getTopic(), kafka.getPartition(), kafka.getOffset(), e.getMessage());
            return message.nack(e);
        }
        EventType type = event.type();
        if (!handled.contains(type)) {
            return message.ack();
        }
        RecoveryCommand command = (RecoveryCommand) event.data();
        if (command.commandId() == null || command.commandId().isBlank() || command.runId() == null) {
            return message.nack(new IllegalArgumentException(type + " without commandId or runId cannot be answered"));
        }
        Context parent = TracingMetadata.fromMessage(message).map(TracingMetadata::getCurrentContext)
                .orElse(Context.current());
        Duration backoff = Duration.ofSeconds(1);
        try (Scope ignored = parent.makeCurrent()) {
            for (int attempt = 1; ; attempt++) {
                try {
                    handler.handle(command, type);
                    return message.ack();
                } catch (RuntimeException e) {
                    LOG.warnf("command %s: attempt %d could not be recorded or answered, retrying in %s: %s",
                            command.commandId(), attempt, backoff, e.getMessage());
                    Thread.sleep(backoff.toMillis());
                    backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // shutting down: unacknowledged, the command is redelivered after the restart
            LOG.infof("command %s: interrupted, left for redelivery", command.commandId());
            return CompletableFuture.completedFuture(null);
        }
    }
}
