package dev.lifeboat.catalog.rest;

import dev.lifeboat.catalog.domain.BackupQuery;
import dev.lifeboat.catalog.service.BackupQueries;

import java.util.List;

/** One page of backups; {@code total} counts every backup that matches the filters. */
public record BackupPageView(List<BackupView> items, int page, int size, long total) {

    static BackupPageView of(BackupQuery query, BackupQueries.BackupPage page) {
        return new BackupPageView(page.items().stream().map(BackupView::of).toList(), query.page(), query.size(),
                page.total());
    }
}
