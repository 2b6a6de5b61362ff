package dev.lifeboat.catalog.rest;

import dev.lifeboat.catalog.domain.BackupQuery;
import dev.lifeboat.catalog.domain.ListCursor;
import dev.lifeboat.catalog.domain.Backup;
import dev.lifeboat.catalog.service.BackupQueries;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.util.List;

/**
 * One page of backups. There is no count of all matching backups: counting a large catalog costs more than the page
 * itself; {@code nextCursor} is null on the last page.
 */
public record BackupPageView(
        List<BackupView> items,
        int size,
        @Schema(description = "pass as 'cursor' (with the same filters) for the next page; null on the last page")
        String nextCursor) {

    public static BackupPageView of(BackupQuery query, BackupQueries.BackupPage page) {
        Backup last = page.more() ? page.items().getLast() : null;
        return new BackupPageView(page.items().stream().map(BackupView::of).toList(), query.size(),
                last == null ? null : ListCursor.encode(BackupQueryParams.LIST, BackupQueryParams.filters(query),
                        last.requestedAt, last.backupId));
    }
}
