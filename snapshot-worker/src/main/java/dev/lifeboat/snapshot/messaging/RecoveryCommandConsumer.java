package dev.lifeboat.snapshot.messaging;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.snapshot.service.RecoveryCommandService;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.reactive.messaging.TracingMetadata;

/**
 * Consumes lifeboat.recovery.commands.v1 (keyed by run id) and acts on RestoreDatabase, VerifyDatabase and
 * DropDatabase; other commands belong to other participants and are acked untouched. Invalid records are nacked
 * into lifeboat.dlq.v1 with the reason. The ledger or Kafka failing is retried (with backoff, until it passes or
 * the worker stops): a command is never dead-lettered for an infrastructure failure, the coordinator waits for
 * its reply.
 */
@ApplicationScoped
public class RecoveryCommandConsumer {
    private static final Logger LOG = Logger.getLogger(RecoveryCommandConsumer.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    @Inject
    RecoveryCommandService commands;

    @Incoming("recovery-commands")
    @Blocking
    public CompletionStage<Void> consume(Message<String> message) {
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
        if (type != EventType.RESTORE_DATABASE && type != EventType.VERIFY_DATABASE
                && type != EventType.DROP_DATABASE) {
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
                    commands.handle(command, type);
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
