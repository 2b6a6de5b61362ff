package dev.lifeboat.recovery.service;

import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Deadlines live in the runs table, so a timeout survives a restart: this checker reads them. Its first tick
 * resumes the runs a previous process left RUNNING or COMPENSATING; every tick sends again the commands whose send
 * failed (the channel may not be open yet on the first, or the broker down).
 */
@ApplicationScoped
public class SagaTimers {
    private static final Logger LOG = Logger.getLogger(SagaTimers.class);

    private final SagaEngine engine;
    private final AtomicBoolean resumed = new AtomicBoolean();

    public SagaTimers(SagaEngine engine) {
        this.engine = engine;
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
        } catch (RuntimeException e) {
            LOG.warnf("saga timer tick failed, next tick retries: %s", e.toString());
        }
    }
}
