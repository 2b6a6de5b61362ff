package dev.lifeboat.catalog.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

@ConfigMapping(prefix = "lifeboat.catalog")
public interface CatalogConfig {

    Retry retry();

    /**
     * A valid event whose transaction fails (database unreachable, say) is retried with exponential backoff
     * until it commits: it is never dead-lettered, and the records behind it wait, so nothing is lost or
     * reordered while the database is away.
     */
    interface Retry {
        @WithDefault("1s")
        Duration initialBackoff();

        @WithDefault("30s")
        Duration maxBackoff();
    }
}
