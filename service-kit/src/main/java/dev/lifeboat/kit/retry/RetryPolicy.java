package dev.lifeboat.kit.retry;

import io.smallrye.faulttolerance.api.Guard;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The platform's one retry policy: failures that {@link Transience} calls transient are retried with exponential
 * backoff for {@code lifeboat.retry.window}; a permanent failure is thrown at once, unchanged. When the window is
 * over, {@link RetriesExhaustedException} says so; a consumer then parks its record (see
 * {@link dev.lifeboat.kit.messaging.Parking}), it does not dead-letter it, since the record is valid.
 *
 * <p>Blocking work runs through a SmallRye Fault Tolerance guard. Reactive work (Hibernate Reactive) uses Mutiny's
 * backoff with the same settings and the same definition of transient, because each attempt must be resubscribed on
 * the caller's Vert.x context, which the caller arranges inside {@code work}.
 */
@ApplicationScoped
public class RetryPolicy {
    private static final Logger LOG = Logger.getLogger(RetryPolicy.class);

    private final RetryConfig config;
    private final Guard guard;

    public RetryPolicy(RetryConfig config) {
        this.config = config;
        // the library refuses a delay that is not shorter than the whole window (a short window in tests)
        long window = Math.max(2, config.window().toMillis());
        long maxDelay = Math.min(config.maxBackoff().toMillis(), window - 1);
        long delay = Math.min(config.initialBackoff().toMillis(), maxDelay);
        this.guard = Guard.create()
                .withDescription("lifeboat transient failures")
                .withRetry()
                .maxRetries(-1)
                .delay(delay, ChronoUnit.MILLIS)
                .jitter(0, ChronoUnit.MILLIS)
                .maxDuration(window, ChronoUnit.MILLIS)
                .whenException(Transience::isTransient)
                .withExponentialBackoff().factor(2).maxDelay(maxDelay, ChronoUnit.MILLIS).done()
                .done()
                .build();
    }

    public Duration window() {
        return config.window();
    }

    /**
     * Runs {@code work} until it passes. A permanent failure is rethrown as it is (a checked one wrapped in an
     * {@link IllegalStateException}).
     *
     * @throws RetriesExhaustedException when it still failed transiently at the end of the window
     * @throws InterruptedException when the thread was interrupted while waiting (the service stops)
     */
    public <T> T call(String what, Callable<T> work) throws RetriesExhaustedException, InterruptedException {
        AtomicInteger attempts = new AtomicInteger();
        long start = System.nanoTime();
        try {
            @SuppressWarnings("unchecked")
            T result = (T) guard.call(() -> {
                int attempt = attempts.incrementAndGet();
                try {
                    return (Object) work.call();
                } catch (Exception e) {
                    if (Transience.isTransient(e)) {
                        LOG.warnf("%s: attempt %d failed transiently, retrying for up to %s in all: %s", what, attempt,
                                config.window(), describe(e));
                    }
                    throw e;
                }
            }, Object.class);
            return result;
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            if (Thread.currentThread().isInterrupted() || causedByInterrupt(e)) {
                Thread.currentThread().interrupt();
                throw new InterruptedException("interrupted while retrying " + what);
            }
            if (Transience.isTransient(e)) {
                throw new RetriesExhaustedException(what, attempts.get(), Duration.ofNanos(System.nanoTime() - start),
                        e);
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(what + " failed: " + describe(e), e);
        }
    }

    /** As {@link #call} for work without a result. */
    public void run(String what, Runnable work) throws RetriesExhaustedException, InterruptedException {
        call(what, () -> {
            work.run();
            return null;
        });
    }

    /**
     * {@link #retrying} with every attempt on the caller's Vert.x context: Hibernate Reactive must run on a
     * record's context, and a retry after backoff is resubscribed from a timer thread.
     */
    public <T> Uni<T> retryingOnContext(String what, Supplier<? extends Uni<? extends T>> work) {
        io.vertx.core.Context context = io.vertx.core.Vertx.currentContext();
        java.util.concurrent.Executor onContext = context == null ? Runnable::run
                : task -> context.runOnContext(ignored -> task.run());
        return retrying(what, () -> Uni.createFrom().<T>deferred(work::get).runSubscriptionOn(onContext));
    }

    /**
     * Resubscribes to {@code work} while it fails transiently, within the window; then fails with
     * {@link RetriesExhaustedException}. A permanent failure passes through unchanged.
     */
    public <T> Uni<T> retrying(String what, Supplier<Uni<T>> work) {
        AtomicInteger attempts = new AtomicInteger();
        AtomicReference<Throwable> last = new AtomicReference<>();
        long start = System.nanoTime();
        return Uni.createFrom().deferred(() -> {
                    attempts.incrementAndGet();
                    return work.get();
                })
                .onFailure(Transience::isTransient).invoke(t -> {
                    last.set(t);
                    LOG.warnf("%s: attempt %d failed transiently, retrying for up to %s in all: %s", what,
                            attempts.get(), config.window(), describe(t));
                })
                .onFailure(Transience::isTransient).retry()
                .withBackOff(config.initialBackoff(), config.maxBackoff())
                .expireIn(config.window().toMillis())
                .onFailure(Transience::isTransient).transform(t -> new RetriesExhaustedException(what, attempts.get(),
                        Duration.ofNanos(System.nanoTime() - start), last.get() == null ? t : last.get()));
    }

    private static boolean causedByInterrupt(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof InterruptedException) {
                return true;
            }
        }
        return false;
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }
}
