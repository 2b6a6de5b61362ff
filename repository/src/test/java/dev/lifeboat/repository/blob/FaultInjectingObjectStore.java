package dev.lifeboat.repository.blob;

import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Decorates an {@link ObjectStore} with the failures a real S3 endpoint produces, for tests of everything above
 * it: throttling (an {@link S3Exception} 503 SlowDown), server errors (500 InternalError) and short reads (a stream
 * that ends early, or throws, part way through the object). Each operation draws from one seeded {@link Random},
 * so a single-threaded run is reproducible.
 *
 * <p>Failures are injected before the call reaches the store, except short reads which cut a real stream.
 *
 * <p>Writes to one bucket can also be held ({@link #holdWrites}): they block until {@link #release()}, or fail after
 * {@link #cut()} (a writer that died part way), which makes a long copy last as long as a test needs.
 */
public class FaultInjectingObjectStore implements ObjectStore {

    /** Probabilities in [0, 1] of each fault per operation (per open for short reads). */
    public record Faults(double throttle, double serverError, double shortRead) {
        public static Faults none() {
            return new Faults(0, 0, 0);
        }
    }

    private final ObjectStore delegate;
    private final Faults faults;
    private final Random random;
    private final AtomicLong injected = new AtomicLong();
    private final AtomicLong held = new AtomicLong();
    private final AtomicLong passed = new AtomicLong();
    private volatile Hold hold;

    private record Hold(String bucket, long allowFirst, CountDownLatch released, boolean[] cut) {
    }

    public FaultInjectingObjectStore(ObjectStore delegate, Faults faults, long seed) {
        this.delegate = delegate;
        this.faults = faults;
        this.random = new Random(seed);
    }

    /** How many faults were injected so far (tests assert the faults really happened). */
    public long injectedFaults() {
        return injected.get();
    }

    /**
     * From now on, writes to {@code bucket} after the first {@code allowFirst} block until {@link #release()} (at most
     * {@code 5 min}, so a forgotten hold cannot hang a build), or throw once {@link #cut()} is called.
     */
    public void holdWrites(String bucket, long allowFirst) {
        passed.set(0);
        held.set(0);
        hold = new Hold(bucket, allowFirst, new CountDownLatch(1), new boolean[1]);
    }

    /** Lets the held writes (and all later ones) through. */
    public void release() {
        Hold h = hold;
        hold = null;
        if (h != null) {
            h.released().countDown();
        }
    }

    /** Makes the held writes (and all later ones to the held bucket) fail, as if their writer had died. */
    public void cut() {
        Hold h = hold;
        if (h != null) {
            h.cut()[0] = true;
            h.released().countDown();
        }
    }

    /** How many writes are blocked in {@link #holdWrites} right now, or were before a release. */
    public long heldWrites() {
        return held.get();
    }

    private void maybeHold(String bucket, String key) {
        Hold h = hold;
        if (h == null || !h.bucket().equals(bucket) || passed.incrementAndGet() <= h.allowFirst()) {
            return;
        }
        held.incrementAndGet();
        try {
            if (!h.released().await(5, TimeUnit.MINUTES)) {
                throw new IllegalStateException("injected: write of " + key + " held for 5 minutes, never released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("injected: interrupted while holding the write of " + key, e);
        }
        if (h.cut()[0]) {
            throw new IllegalStateException("injected: the writer of " + bucket + "/" + key + " died");
        }
    }

    private void maybeFail(String operation, String key) {
        double draw = random.nextDouble();
        if (draw < faults.throttle()) {
            injected.incrementAndGet();
            throw (S3Exception) S3Exception.builder().statusCode(503)
                    .message("injected: Please reduce your request rate (" + operation + " " + key + ")")
                    .awsErrorDetails(AwsErrorDetails.builder().errorCode("SlowDown").serviceName("S3")
                            .errorMessage("Please reduce your request rate.").build())
                    .build();
        }
        if (draw < faults.throttle() + faults.serverError()) {
            injected.incrementAndGet();
            throw (S3Exception) S3Exception.builder().statusCode(500)
                    .message("injected: We encountered an internal error (" + operation + " " + key + ")")
                    .awsErrorDetails(AwsErrorDetails.builder().errorCode("InternalError").serviceName("S3")
                            .errorMessage("We encountered an internal error. Please try again.").build())
                    .build();
        }
    }

    @Override
    public ObjectWriter create(String bucket, String key) {
        ObjectWriter inner = delegate.create(bucket, key);
        return new ObjectWriter() {
            @Override
            public void write(int b) throws IOException {
                inner.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                inner.write(b, off, len);
            }

            @Override
            public StoredObject commit() {
                try {
                    maybeHold(bucket, key);
                    maybeFail("commit", key);
                } catch (RuntimeException e) {
                    inner.abort();
                    throw e;
                }
                return inner.commit();
            }

            @Override
            public void abort() {
                inner.abort();
            }

            @Override
            public void close() throws IOException {
                inner.close();
            }
        };
    }

    @Override
    public void put(String bucket, String key, byte[] content) {
        maybeHold(bucket, key);
        maybeFail("put", key);
        delegate.put(bucket, key, content);
    }

    @Override
    public boolean putIfAbsent(String bucket, String key, byte[] content) {
        maybeHold(bucket, key);
        maybeFail("putIfAbsent", key);
        return delegate.putIfAbsent(bucket, key, content);
    }

    @Override
    public InputStream open(String bucket, String key) {
        maybeFail("open", key);
        InputStream in = delegate.open(bucket, key);
        if (random.nextDouble() >= faults.shortRead()) {
            return in;
        }
        injected.incrementAndGet();
        long size = delegate.size(bucket, key).orElse(0L);
        long cut = size <= 1 ? 0 : (long) (random.nextDouble() * size);
        boolean throwAtCut = random.nextBoolean();
        return new ShortStream(in, cut, throwAtCut);
    }

    @Override
    public Optional<Long> size(String bucket, String key) {
        maybeFail("size", key);
        return delegate.size(bucket, key);
    }

    @Override
    public Optional<ObjectInfo> stat(String bucket, String key) {
        maybeFail("stat", key);
        return delegate.stat(bucket, key);
    }

    @Override
    public List<String> list(String bucket, String prefix) {
        maybeFail("list", prefix);
        return delegate.list(bucket, prefix);
    }

    @Override
    public void listSizes(String bucket, String prefix, java.util.function.BiConsumer<String, Long> each) {
        maybeFail("list", prefix);
        delegate.listSizes(bucket, prefix, each);
    }

    @Override
    public void delete(String bucket, String key) {
        maybeFail("delete", key);
        delegate.delete(bucket, key);
    }

    @Override
    public void ensureBucket(String bucket) {
        maybeFail("ensureBucket", bucket);
        delegate.ensureBucket(bucket);
    }

    @Override
    public void ping() {
        maybeFail("ping", "");
        delegate.ping();
    }

    /** Delivers {@code cut} bytes, then either reports end of stream or throws a connection reset. */
    private static final class ShortStream extends FilterInputStream {
        private long remaining;
        private final boolean throwAtCut;

        ShortStream(InputStream in, long cut, boolean throwAtCut) {
            super(in);
            this.remaining = cut;
            this.throwAtCut = throwAtCut;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (remaining <= 0) {
                if (throwAtCut) {
                    throw new IOException("injected: Connection reset");
                }
                return -1;
            }
            int n = super.read(b, off, (int) Math.min(len, remaining));
            if (n > 0) {
                remaining -= n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            byte[] buf = new byte[8192];
            long skipped = 0;
            while (skipped < n) {
                int r = read(buf, 0, (int) Math.min(buf.length, n - skipped));
                if (r < 0) {
                    break;
                }
                skipped += r;
            }
            return skipped;
        }

        @Override
        public int available() {
            return 0;
        }
    }
}
