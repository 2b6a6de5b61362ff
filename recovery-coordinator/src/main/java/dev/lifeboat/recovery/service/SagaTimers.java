package dev.lifeboat.recovery.service;

import dev.lifeboat.recovery.config.CoordinatorConfig;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Deadlines live in the runs table, so a timeout survives a restart: this checker reads them. Its first tick
 * resumes the runs a previous process left RUNNING or COMPENSATING; every tick sends again the commands whose send
 * failed (the channel may not be open yet on the first, or the broker down). It also purges the late drops settled
 * longer ago than their retention: a batch per tick while batches come back full, else again after a pause.
 */
@ApplicationScoped
public class SagaTimers {
    private static final Logger LOG = Logger.getLogger(SagaTimers.class);

    /** After a purge that found less than a full batch, the next one waits this long (the rest is not due yet). */
    private static final Duration PURGE_PAUSE = Duration.ofMinutes(1);

    private final SagaEngine engine;
    private final CoordinatorConfig config;
    private final AtomicBoolean resumed = new AtomicBoolean();
    private volatile Instant nextPurge = Instant.MIN;

    public SagaTimers(SagaEngine engine, CoordinatorConfig config) {
        this.engine = engine;
        this.config = config;
    }

    @Scheduled(every = "${lifeboat.recovery.timeout-check-interval}", delayed = "1s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void tick() {
        try {
            if (!resumed.get()) {
                int n = engine.resume();
                resumed.set(true);
                if (n > 0) {
                    LOG.infof("resumed %d run(s) left active by a previous coordinator", n);
                }
            }
            engine.timeouts();
            engine.resendUnsent();
            engine.stalled();
            engine.relayEvents();
            purgeLateDropsWhenDue();
        } catch (RuntimeException e) {
            LOG.warnf("saga timer tick failed, next tick retries: %s", e.toString());
        }
    }

    private void purgeLateDropsWhenDue() {
        if (Instant.now().isBefore(nextPurge)) {
            return;
        }
        boolean full = engine.purgeLateDrops() >= config.lateDrops().purgeBatch();
        nextPurge = full ? Instant.MIN : Instant.now().plus(PURGE_PAUSE);
    }
}
