package dev.lifeboat.catalog.service;

import dev.lifeboat.catalog.repository.WalStatusRepository;
import dev.lifeboat.contracts.WalStatus;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.common.WithTransaction;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;

/** Keeps the newest WAL archiving status of each physical source; older or superseded reports change nothing. */
@ApplicationScoped
public class WalStatusRecorder {
    private final WalStatusRepository statuses;

    public WalStatusRecorder(WalStatusRepository statuses) {
        this.statuses = statuses;
    }

    /** True when the report is now the source's newest. */
    @WithTransaction
    @WithSpan("WalStatusRecorder.record")
    public Uni<Boolean> record(WalStatus status) {
        return statuses.upsertIfNewer(status, Instant.now());
    }
}
