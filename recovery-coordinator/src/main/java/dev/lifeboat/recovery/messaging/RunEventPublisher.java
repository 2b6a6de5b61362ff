package dev.lifeboat.recovery.messaging;

import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.RecoveryFinished;
import dev.lifeboat.contracts.recovery.RecoveryStarted;
import dev.lifeboat.kit.messaging.KafkaEvents;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.TracingMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;

/**
 * Run lifecycle on lifeboat.recovery.events.v1 (channel recovery-events), keyed by run id. Event ids are
 * {@code <runId>:started} and {@code <runId>:finished}: re-emitted after a crash, readers see the same event.
 */
@ApplicationScoped
public class RunEventPublisher {
    @Inject
    @Channel("recovery-events")
    MutinyEmitter<String> events;
    @Inject
    Tracer tracer;

    public void started(RecoveryStarted started, String traceparent) {
        send(started.runId() + ":started", EventType.RECOVERY_STARTED, started.runId(), started, traceparent);
    }

    public void finished(RecoveryFinished finished, String traceparent) {
        send(finished.runId() + ":finished", EventType.RECOVERY_FINISHED, finished.runId(), finished, traceparent);
    }

    private void send(String id, EventType type, String runId, Object data, String traceparent) {
        Span span = tracer.spanBuilder("RecoveryCoordinator.emit " + type.ceType())
                .setParent(CommandSender.runContext(traceparent)).startSpan();
        try (Scope ignored = span.makeCurrent()) {
            events.sendMessageAndAwait(KafkaEvents.message(id, type, runId, data, CommandSender.SOURCE)
                    .addMetadata(TracingMetadata.withCurrent(Context.current())));
        } finally {
            span.end();
        }
    }
}
