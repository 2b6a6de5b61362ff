package dev.lifeboat.recovery.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

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

    /**
     * How long a RUNNING or COMPENSATING run may stay with nothing in flight (no pending command, or one without a
     * deadline) before the checker takes it up again at its next action. Normal transitions never leave a run so.
     */
    @WithDefault("PT5M")
    Duration stallTimeout();

    /** Timeout of calls to scheduler-service while validating a plan. */
    @WithDefault("PT5S")
    Duration schedulerTimeout();

    /** How long a RestartServices or NotifyStakeholders webhook may take to accept the connection. */
    @WithDefault("PT5S")
    Duration webhookConnectTimeout();

    /** How long a NotifyStakeholders webhook may take to answer (RestartServices calls use the step's timeout). */
    @WithDefault("PT10S")
    Duration notifyTimeout();

    /**
     * URL prefixes ({@code scheme://host:port[/path]}) that RestartServices and NotifyStakeholders may call.
     * Unset: no URL is allowed, so plans with such steps are refused until an admin names what they may reach.
     */
    Optional<List<String>> urlAllowlist();

    /**
     * Base URLs of the platform's own services. A plan's URL on one of their host:port pairs is refused whatever
     * the allowlist says (scheduler-url and this service's own port are added to these).
     */
    @WithDefault("http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083,http://127.0.0.1:8084,"
            + "http://127.0.0.1:8085")
    List<String> platformUrls();

    /** The drops that undo restores which succeeded after their step timed out (table {@code late_drops}). */
    LateDrops lateDrops();

    interface LateDrops {
        /**
         * How long a settled drop is kept before it is purged: counted from its reply, from its expiry (never sent
         * before its deadline), or, for one sent and never answered, from its deadline. A reply to a purged drop is
         * ignored (and logged), as one to a drop never recorded is; the run keeps what it recorded either way.
         */
        @WithDefault("P30D")
        Duration retention();

        /** At most this many rows are deleted per statement, so a purge never holds many row locks for long. */
        @WithDefault("500")
        int purgeBatch();
    }
}
