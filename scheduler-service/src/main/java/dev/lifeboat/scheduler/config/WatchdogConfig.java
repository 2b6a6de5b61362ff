package dev.lifeboat.scheduler.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/**
 * The backup watchdog: a requested backup that shows no progress for {@link #noProgressTimeout()} is requested
 * again (same backup id) up to {@link #maxRerequests()} times, then failed with the reason.
 */
@ConfigMapping(prefix = "lifeboat.watchdog")
public interface WatchdogConfig {

    /** How often unresolved backups are looked for. */
    @WithDefault("1m")
    Duration checkInterval();

    /**
     * How long a backup may go without a progress event (or since its last request, when none came) before it is
     * considered abandoned. Longer than a worker's progress interval and than a request may wait behind others.
     */
    @WithDefault("30m")
    Duration noProgressTimeout();

    /** How many times an abandoned backup is requested again before it is failed. */
    @WithDefault("2")
    int maxRerequests();
}
