package dev.lifeboat.catalog.service;

import dev.lifeboat.contracts.EventType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.EnumMap;
import java.util.Map;

/**
 * lifeboat_catalog_events_total{type}: events recorded (counted after commit), by CloudEvents type;
 * lifeboat_catalog_events_duplicate_total{type}: redelivered or re-published events that changed nothing;
 * lifeboat_catalog_events_dead_lettered_total{channel}: records sent to the dead-letter topic.
 * The per-type counters exist from startup, at 0, so a dashboard sees every type before its first event.
 */
@ApplicationScoped
public class CatalogMetrics {
    private final MeterRegistry registry;
    private final Map<EventType, Counter> recorded = new EnumMap<>(EventType.class);
    private final Map<EventType, Counter> duplicates = new EnumMap<>(EventType.class);

    public CatalogMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (EventType type : EventType.values()) {
            recorded.put(type, Counter.builder("lifeboat.catalog.events").tag("type", type.ceType())
                    .description("backup events recorded in the catalog").register(registry));
            duplicates.put(type, Counter.builder("lifeboat.catalog.events.duplicate").tag("type", type.ceType())
                    .description("events whose id was already recorded").register(registry));
        }
    }

    public void recorded(EventType type) {
        recorded.get(type).increment();
    }

    public void duplicate(EventType type) {
        duplicates.get(type).increment();
    }

    public void deadLettered(String channel) {
        registry.counter("lifeboat.catalog.events.dead.lettered", "channel", channel).increment();
    }
}
