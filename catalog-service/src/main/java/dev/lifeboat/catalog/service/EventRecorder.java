package dev.lifeboat.catalog.service;

import dev.lifeboat.catalog.domain.CatalogEvent;
import dev.lifeboat.catalog.domain.RecordOutcome;
import dev.lifeboat.catalog.repository.BackupEventRepository;
import dev.lifeboat.catalog.repository.BackupRepository;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.common.WithTransaction;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;

/** The write side: every backup event goes into the history once and is folded into its backup. */
@ApplicationScoped
public class EventRecorder {
    private final BackupEventRepository events;
    private final BackupRepository backups;

    public EventRecorder(BackupEventRepository events, BackupRepository backups) {
        this.events = events;
        this.backups = backups;
    }

    /**
     * One transaction: history row and backup row change together or not at all. The history insert is the
     * idempotency guard: an event id seen before changes nothing.
     */
    @WithTransaction
    @WithSpan("EventRecorder.record")
    public Uni<RecordOutcome> record(CatalogEvent event) {
        Instant now = Instant.now();
        return events.insertIfAbsent(event, now).chain(inserted -> {
            if (!inserted) {
                return Uni.createFrom().item(RecordOutcome.DUPLICATE);
            }
            return backups.lockOrCreate(event.backupId(), now)
                    .invoke(backup -> backup.apply(event, now))
                    .replaceWith(RecordOutcome.RECORDED);
        });
    }
}
