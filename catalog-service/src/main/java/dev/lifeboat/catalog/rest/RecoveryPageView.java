package dev.lifeboat.catalog.rest;

import dev.lifeboat.catalog.domain.RecoveryQuery;
import dev.lifeboat.catalog.service.RecoveryQueries;

import java.util.List;

/** One page of runs; {@code total} counts every run that matches the filters. */
public record RecoveryPageView(List<RecoveryView> items, int page, int size, long total) {

    static RecoveryPageView of(RecoveryQuery query, RecoveryQueries.RecoveryPage page) {
        return new RecoveryPageView(page.items().stream().map(RecoveryView::of).toList(), query.page(), query.size(),
                page.total());
    }
}
