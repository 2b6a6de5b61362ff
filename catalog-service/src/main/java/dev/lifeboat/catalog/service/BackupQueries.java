package dev.lifeboat.catalog.service;

import dev.lifeboat.catalog.domain.Backup;
import dev.lifeboat.catalog.domain.BackupHistory;
import dev.lifeboat.catalog.domain.BackupQuery;
import dev.lifeboat.catalog.repository.BackupEventRepository;
import dev.lifeboat.catalog.repository.BackupRepository;
import dev.lifeboat.kit.rest.ProblemException;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;

/** The read side of the catalog. */
@ApplicationScoped
public class BackupQueries {
    private final BackupRepository backups;
    private final BackupEventRepository events;

    public BackupQueries(BackupRepository backups, BackupEventRepository events) {
        this.backups = backups;
        this.events = events;
    }

    /** One page, and whether there are more rows after it (one more than the page was read to know). */
    public record BackupPage(List<Backup> items, boolean more) {
    }

    @WithSession
    @WithSpan("BackupQueries.list")
    public Uni<BackupPage> list(BackupQuery query) {
        return backups.page(query, query.size() + 1).map(rows -> rows.size() > query.size()
                ? new BackupPage(rows.subList(0, query.size()), true) : new BackupPage(rows, false));
    }

    @WithSession
    @WithSpan("BackupQueries.history")
    public Uni<BackupHistory> history(String backupId) {
        return backups.findById(backupId)
                .onItem().ifNull().failWith(() -> ProblemException.notFound("backup", backupId))
                .chain(backup -> events.history(backupId).map(list -> new BackupHistory(backup, list)));
    }

    @WithSession
    @WithSpan("BackupQueries.latestRestorable")
    public Uni<Backup> latestRestorable(String sourceId) {
        return backups.latestCompleted(sourceId)
                .onItem().ifNull().failWith(() -> new ProblemException(404, "Not Found",
                        "source '" + sourceId + "' has no completed backup"));
    }
}
