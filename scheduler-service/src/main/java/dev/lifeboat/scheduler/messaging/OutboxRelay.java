package dev.lifeboat.scheduler.messaging;

import dev.lifeboat.contracts.EventType;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.scheduler.domain.OutboxEvent;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.jboss.logging.Logger;

import java.time.Instant;
import java.util.List;

/**
 * Sends committed outbox rows to Kafka in order and marks them sent once the broker acknowledged them.
 * Rows are claimed with SKIP LOCKED so several scheduler instances relay without sending a row twice;
 * a crash between ack and commit re-sends a row with the same event id, which consumers dedupe.
 */
@ApplicationScoped
public class OutboxRelay {
    private static final Logger LOG = Logger.getLogger(OutboxRelay.class);
    private static final String SOURCE = "/lifeboat/scheduler-service";
    private static final int BATCH = 100;

    @Inject
    @Channel("backup-requests")
    MutinyEmitter<String> emitter;

    @Scheduled(every = "${lifeboat.outbox.relay-interval}", delayed = "2s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> relay() {
        return Panache.withTransaction(() -> Panache.getSession().chain(session -> session
                        .createNativeQuery("select * from scheduler.outbox where sent_at is null order by created_at "
                                + "limit " + BATCH + " for update skip locked", OutboxEvent.class)
                        .getResultList())
                .chain(this::sendAll))
                .onFailure().invoke(e -> LOG.warnf("outbox relay will retry: %s", e.getMessage()))
                .onFailure().recoverWithNull()
                .replaceWithVoid();
    }

    private Uni<Void> sendAll(List<OutboxEvent> rows) {
        return Multi.createFrom().iterable(rows)
                .onItem().transformToUniAndConcatenate(row -> emitter.sendMessage(KafkaEvents.messageOfJson(
                                row.id.toString(), EventType.ofCeType(row.eventType).orElseThrow(), row.messageKey,
                                row.payload, SOURCE))
                        .invoke(() -> row.sentAt = Instant.now()))
                .collect().last()
                .replaceWithVoid();
    }
}
