package dev.lifeboat.repository.blob;

import software.amazon.awssdk.core.exception.SdkServiceException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How {@link RetryingObjectStore} retries: at most {@code maxAttempts} tries per operation, waiting an exponential
 * backoff with jitter between them ({@code baseDelay * 2^(n-1)}, capped at {@code maxDelay}, then a random point in
 * its upper half so that many workers throttled together do not come back together).
 */
public record RetryPolicy(int maxAttempts, Duration baseDelay, Duration maxDelay) {

    private static final Set<Integer> TRANSIENT_STATUS = Set.of(429, 500, 502, 503, 504);

    public RetryPolicy {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
        }
    }

    /** Six tries over about three seconds in the worst case. */
    public static RetryPolicy defaults() {
        return new RetryPolicy(6, Duration.ofMillis(100), Duration.ofSeconds(5));
    }

    /** The wait before try {@code attempt + 1}, after {@code attempt} failed tries (1-based). */
    public Duration backoff(int attempt) {
        long base = Math.max(1, baseDelay.toMillis());
        long exp = base << Math.min(30, attempt - 1);
        long cap = Math.min(Math.max(base, maxDelay.toMillis()), exp);
        long jittered = cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1);
        return Duration.ofMillis(jittered);
    }

    /**
     * Transient: an S3 service error with status 429/500/502/503/504 or a throttling code, or an I/O failure (a
     * reset connection, a short read). The first service error on the cause chain decides, so an HTTP 403 wrapped in
     * an IOException is still permanent. {@link ObjectNotFoundException} is never transient.
     */
    public static boolean isTransient(Throwable error) {
        boolean io = false;
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ObjectNotFoundException) {
                return false;
            }
            if (t instanceof SdkServiceException s) {
                return s.isThrottlingException() || TRANSIENT_STATUS.contains(s.statusCode());
            }
            if (t instanceof IOException || t instanceof UncheckedIOException) {
                io = true;
            }
        }
        return io;
    }
}
