package dev.lifeboat.catalog.repository;

import dev.lifeboat.catalog.domain.RecoveryEvent;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;

/** The processed-message table of the recovery channel (recovery_event). */
@ApplicationScoped
public class RecoveryEventRepository {

    /**
     * Records the event unless its id is already there; true if this call recorded it. On a concurrent duplicate
     * the insert waits for the other transaction and then does nothing. The data goes in as text and is parsed
     * by PostgreSQL (a String bound to a jsonb parameter would be stored as a JSON string).
     */
    public Uni<Boolean> insertIfAbsent(RecoveryEvent event, Instant receivedAt) {
        return Panache.getSession()
                .chain(s -> s.createNativeQuery("""
                                insert into {h-schema}recovery_event
                                    (event_id, run_id, event_type, occurred_at, received_at, data)
                                values (:id, :runId, :type, :occurredAt, :receivedAt, cast(cast(:data as text) as jsonb))
                                on conflict (event_id) do nothing""")
                        .setParameter("id", event.eventId())
                        .setParameter("runId", event.runId())
                        .setParameter("type", event.type().ceType())
                        .setParameter("occurredAt", event.occurredAt())
                        .setParameter("receivedAt", receivedAt)
                        .setParameter("data", event.dataJson())
                        .executeUpdate())
                .map(inserted -> inserted == 1);
    }
}
