package dev.lifeboat.catalog.rest;

import dev.lifeboat.catalog.domain.ListCursor;
import dev.lifeboat.catalog.domain.Recovery;
import dev.lifeboat.catalog.domain.RecoveryQuery;
import dev.lifeboat.catalog.service.RecoveryQueries;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.util.List;

/** One page of runs, without a count of all matching runs; {@code nextCursor} is null on the last page. */
public record RecoveryPageView(
        List<RecoveryView> items,
        int size,
        @Schema(description = "pass as 'cursor' (with the same filters) for the next page; null on the last page")
        String nextCursor) {

    public static RecoveryPageView of(RecoveryQuery query, RecoveryQueries.RecoveryPage page) {
        Recovery last = page.more() ? page.items().getLast() : null;
        return new RecoveryPageView(page.items().stream().map(RecoveryView::of).toList(), query.size(),
                last == null ? null : ListCursor.encode(RecoveryResource.LIST, RecoveryResource.filters(query),
                        last.startedAt, last.runId));
    }
}
