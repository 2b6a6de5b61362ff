package dev.lifeboat.recovery.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

@ConfigMapping(prefix = "lifeboat.recovery")
public interface CoordinatorConfig {
    /** scheduler-service base URL: plans are validated against its registered sources. */
    String schedulerUrl();

    /** A step's timeout when neither the step nor the plan sets one. */
    @WithDefault("PT30M")
    Duration defaultStepTimeout();

    /** How often persisted deadlines are checked (read by SagaTimers' @Scheduled expression). */
    @WithDefault("1s")
    String timeoutCheckInterval();

    /** Timeout of calls to scheduler-service while validating a plan. */
    @WithDefault("PT5S")
    Duration schedulerTimeout();
}
