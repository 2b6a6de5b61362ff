package dev.lifeboat.scheduler.messaging;

import dev.lifeboat.scheduler.domain.OutboxEvent;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Keeps the gauge {@code lifeboat_outbox_set_aside_rows} at the number of outbox rows {@link OutboxRelay} set aside,
 * counted every {@code lifeboat.outbox.set-aside-count-interval}: the alert LifeboatOutboxSetAside fires while any
 * wait for an operator, not only in the hour one was set aside.
 */
@ApplicationScoped
public class OutboxSetAside {
    private static final Logger LOG = Logger.getLogger(OutboxSetAside.class);
    private static final String GAUGE = "lifeboat_outbox_set_aside_rows";

    @Inject
    MeterRegistry registry;

    private final AtomicLong rows = new AtomicLong();

    void start(@Observes StartupEvent event) {
        // a JVM that starts the application again (the tests do) may still hold the gauge of its first start, bound
        // to that start's count
        registry.find(GAUGE).meters().forEach(registry::remove);
        Gauge.builder(GAUGE, rows, AtomicLong::get).strongReference(true)
                .description("outbox rows set aside as too large for Kafka, waiting for an operator").register(registry);
    }

    @Scheduled(every = "${lifeboat.outbox.set-aside-count-interval}", delayed = "5s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> count() {
        return Panache.withSession(() -> OutboxEvent.count("failedAt is not null"))
                .invoke(rows::set)
                .onFailure().invoke(e -> LOG.warnf("cannot count the outbox rows set aside, the next count retries: %s",
                        e.toString()))
                .onFailure().recoverWithNull()
                .replaceWithVoid();
    }
}
