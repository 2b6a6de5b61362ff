package dev.lifeboat.kit.retry;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/** How long and how often transient failures are retried (see {@link RetryPolicy}); one setting per service. */
@ConfigMapping(prefix = "lifeboat.retry")
public interface RetryConfig {
    /** The wait after the first failure; it doubles after each further failure, up to {@link #maxBackoff()}. */
    @WithDefault("1s")
    Duration initialBackoff();

    @WithDefault("30s")
    Duration maxBackoff();

    /**
     * How long a piece of valid work is retried before it is given up (and its record parked). Long enough to ride
     * out a database or object store restart or failover.
     */
    @WithDefault("15m")
    Duration window();
}
