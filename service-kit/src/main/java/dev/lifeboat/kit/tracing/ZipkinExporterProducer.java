package dev.lifeboat.kit.tracing;

import io.opentelemetry.exporter.zipkin.ZipkinSpanExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.Optional;

/**
 * Spans go straight to Zipkin's v2 API (no collector needed). With {@code quarkus.otel.traces.exporter=cdi}
 * Quarkus uses this bean; without an endpoint, spans are still created (trace ids in logs and Kafka headers)
 * but not exported.
 */
public class ZipkinExporterProducer {

    @Produces
    @Singleton
    SpanExporter zipkin(@ConfigProperty(name = "lifeboat.tracing.zipkin-endpoint") Optional<String> endpoint) {
        return endpoint.filter(e -> !e.isBlank())
                .<SpanExporter>map(e -> ZipkinSpanExporter.builder().setEndpoint(e).build())
                .orElseGet(SpanExporter::composite);
    }
}
