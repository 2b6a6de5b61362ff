package dev.lifeboat.kit.recovery;

import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.retry.RetriesExhaustedException;
import dev.lifeboat.kit.retry.RetryPolicy;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.smallrye.reactive.messaging.TracingMetadata;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * How a participant takes one record from lifeboat.recovery.commands.v1: invalid records are nacked into
 * lifeboat.dlq.v1 with the reason; commands of other participants are acked untouched; its own commands are
 * handed to {@code handler} inside the sender's trace context. A command the handler finds recovery-coordinator did
 * not send ({@link CommandNotIssued}) is dead-lettered with the reason. Otherwise the handler throwing means the
 * ledger, Kafka or the coordinator failed: the command is valid, so it is never dead-lettered. A transient failure is
 * retried under the platform's {@link RetryPolicy} and parked when the window is over; a permanent one (the replies
 * topic refusing this service, a reply Kafka rejects) is parked at once with its reason. The coordinator's step
 * deadline answers the run meanwhile; a parked command stays parked for its record (only the coordinator may write
 * the commands topic, so it is not replayed there): a new run sends it again.
 */
public final class CommandDelivery {
    private static final Logger LOG = Logger.getLogger(CommandDelivery.class);

    /** Does the command once and replies; throws only when no reply could be recorded or sent. */
    @FunctionalInterface
    public interface Handler {
        void handle(RecoveryCommand command, EventType type) throws InterruptedException;
    }

    private final Set<EventType> handled;
    private final Handler handler;
    private final RetryPolicy retry;
    private final Parking parking;

    public CommandDelivery(Set<EventType> handled, Handler handler, RetryPolicy retry, Parking parking) {
        this.handled = Set.copyOf(handled);
        this.handler = handler;
        this.retry = retry;
        this.parking = parking;
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
        try (Scope ignored = parent.makeCurrent()) {
            retry.call("command " + command.commandId() + " (" + type + ")", () -> {
                handler.handle(command, type);
                return null;
            });
            return message.ack();
        } catch (CommandNotIssued e) {
            LOG.warnf("command %s (%s) is not one recovery-coordinator sent, sending it to the dead-letter topic: %s",
                    command.commandId(), type, e.getMessage());
            return message.nack(e);
        } catch (RetriesExhaustedException e) {
            // the coordinator's step deadline has answered the run meanwhile
            return parking.park(message, e).subscribeAsCompletionStage().thenCompose(done -> message.ack());
        } catch (RuntimeException e) {
            // Parking logs the reason
            String reason = "command " + command.commandId() + " (" + type + ") could not be answered: " + e;
            return parking.park(message, reason, 1).subscribeAsCompletionStage().thenCompose(done -> message.ack());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // shutting down: unacknowledged, the command is redelivered after the restart
            LOG.infof("command %s: interrupted, left for redelivery", command.commandId());
            return CompletableFuture.completedFuture(null);
        }
    }
}
