package dev.lifeboat.scheduler.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

@ConfigMapping(prefix = "lifeboat.results")
public interface ResultsConfig {

    Retry retry();

    /**
     * A valid backup result whose transaction fails (database unreachable, say) is retried with exponential
     * backoff until it commits; it is never dead-lettered, so no completion and no retention decision is lost.
     */
    interface Retry {
        @WithDefault("1s")
        Duration initialBackoff();

        @WithDefault("30s")
        Duration maxBackoff();
    }
}
