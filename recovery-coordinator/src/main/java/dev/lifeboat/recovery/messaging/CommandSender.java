package dev.lifeboat.recovery.messaging;

import dev.lifeboat.contracts.EventType;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.recovery.domain.Run;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.TracingMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;

import java.util.HashMap;
import java.util.Map;

/**
 * Sends step commands on lifeboat.recovery.commands.v1 (channel recovery-commands), keyed by run id. Each send
 * happens in a span whose parent is the run's stored trace context, so SmallRye's Kafka instrumentation writes a
 * traceparent of the run's trace into the record: participants' spans join the run's trace.
 */
@ApplicationScoped
public class CommandSender {
    static final String SOURCE = "/lifeboat/recovery-coordinator";
    private static final TextMapGetter<Map<String, String>> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
            return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    };

    @Inject
    @Channel("recovery-commands")
    MutinyEmitter<String> commands;
    @Inject
    Tracer tracer;

    public void send(String runId, String traceparent, Run.Pending pending) {
        EventType type = EventType.valueOf(pending.type());
        Span span = tracer.spanBuilder("RecoveryCoordinator.send " + pending.action())
                .setParent(runContext(traceparent))
                .setAttribute("lifeboat.run.id", runId)
                .setAttribute("lifeboat.command.id", pending.commandId())
                .setAttribute("lifeboat.command.type", type.ceType())
                .startSpan();
        try (Scope ignored = span.makeCurrent()) {
            // the command id is the event id: a command re-sent after a crash is the same event
            Message<String> message = KafkaEvents.messageOfJson(pending.commandId(), type, runId, pending.payload(),
                    SOURCE).addMetadata(TracingMetadata.withCurrent(Context.current()));
            commands.sendMessageAndAwait(message);
        } catch (RuntimeException e) {
            span.recordException(e);
            throw e;
        } finally {
            span.end();
        }
    }

    /** The run's root context from its stored W3C traceparent (an empty context when there is none). */
    public static Context runContext(String traceparent) {
        Map<String, String> carrier = new HashMap<>();
        if (traceparent != null) {
            carrier.put("traceparent", traceparent);
        }
        return W3CTraceContextPropagator.getInstance().extract(Context.root(), carrier, GETTER);
    }

    /** The W3C traceparent of a span context, to store with the run. */
    public static String traceparent(Context context) {
        Map<String, String> carrier = new HashMap<>();
        W3CTraceContextPropagator.getInstance().inject(context, carrier, Map::put);
        return carrier.get("traceparent");
    }
}
