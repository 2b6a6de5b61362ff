package dev.lifeboat.snapshot.messaging;

import dev.lifeboat.snapshot.config.SnapshotConfig;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;

/**
 * Runs the backups of several sources at once while each source's backups run one after the other, in the order
 * they were submitted: one lane per source id (the record key), at most {@code concurrent-backups} lanes working
 * at a time. A source whose backup waits on a lock holds one lane, never the others. At most
 * {@code max-pending-requests} requests wait or run; {@link #submit} blocks beyond that, which pauses consumption.
 */
@ApplicationScoped
public class SourceLanes {
    private static final Logger LOG = Logger.getLogger(SourceLanes.class);

    @Inject
    SnapshotConfig config;

    private final Map<String, CompletableFuture<Void>> tails = new HashMap<>();
    private ExecutorService workers;
    private Semaphore pending;

    @PostConstruct
    void start() {
        workers = Executors.newFixedThreadPool(Math.max(1, config.concurrentBackups()),
                Thread.ofPlatform().name("backup-", 1).factory());
        pending = new Semaphore(Math.max(1, config.maxPendingRequests()));
    }

    @PreDestroy
    void stop() {
        // running backups are interrupted (their pg_dump groups killed); their records were not acknowledged
        workers.shutdownNow();
    }

    /** Queues {@code work} behind the earlier work of {@code key}; {@code work} handles its own failures. */
    public void submit(String key, Runnable work) throws InterruptedException {
        pending.acquire();
        synchronized (tails) {
            CompletableFuture<Void> previous = tails.getOrDefault(key, CompletableFuture.completedFuture(null));
            CompletableFuture<Void> next = previous.thenRunAsync(() -> {
                try {
                    work.run();
                } catch (RuntimeException e) {
                    LOG.errorf(e, "work of %s failed outside its own handling", key);
                }
            }, workers);
            tails.put(key, next);
            next.whenComplete((v, e) -> {
                pending.release();
                synchronized (tails) {
                    tails.remove(key, next);
                }
            });
        }
    }
}
