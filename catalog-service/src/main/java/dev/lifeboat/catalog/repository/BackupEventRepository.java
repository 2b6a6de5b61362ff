package dev.lifeboat.catalog.repository;

import dev.lifeboat.catalog.domain.BackupEvent;
import dev.lifeboat.catalog.domain.CatalogEvent;
import io.quarkus.hibernate.reactive.panache.PanacheRepositoryBase;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;
import java.util.List;

@ApplicationScoped
public class BackupEventRepository implements PanacheRepositoryBase<BackupEvent, BackupEvent.Key> {

    /**
     * Records the event in its backup's history unless its id is already there; true if this call recorded it. On a concurrent
     * duplicate the insert waits for the other transaction and then does nothing. The data goes in as text and
     * is parsed by PostgreSQL: a String bound straight to a jsonb parameter would be stored as a JSON string.
     */
    public Uni<Boolean> insertIfAbsent(CatalogEvent event, Instant receivedAt) {
        return getSession()
                .chain(s -> s.createNativeQuery("""
                                insert into {h-schema}backup_event
                                    (event_id, backup_id, event_type, occurred_at, received_at, data)
                                values (:id, :backupId, :type, :occurredAt, :receivedAt, cast(cast(:data as text) as jsonb))
                                on conflict (event_id, backup_id) do nothing""")
                        .setParameter("id", event.eventId())
                        .setParameter("backupId", event.backupId())
                        .setParameter("type", event.type().ceType())
                        .setParameter("occurredAt", event.occurredAt())
                        .setParameter("receivedAt", receivedAt)
                        .setParameter("data", event.dataJson())
                        .executeUpdate())
                .map(inserted -> inserted == 1);
    }

    /** The history of a backup, oldest first. */
    public Uni<List<BackupEvent>> history(String backupId) {
        return list("backupId", Sort.by("occurredAt").and("receivedAt").and("eventId"), backupId);
    }
}
