package dev.lifeboat.repository.blob;

import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Decorates an {@link ObjectStore} with retries of transient failures (see {@link RetryPolicy#isTransient}); a
 * permanent error fails at once.
 *
 * <ul>
 *   <li>put, size, list, delete are retried whole (objects are immutable, so repeating a put is harmless);</li>
 *   <li>open first asks the object's size, then returns a stream that checks it delivers exactly that many bytes.
 *   When the stream breaks or ends early it re-opens the object and skips what was already delivered, up to the
 *   attempt limit; after that it throws {@link ShortReadException}: a short read is never passed off as the end;</li>
 *   <li>create spools what is written (memory up to {@value #SPOOL_IN_MEMORY} bytes, then a temporary file), so that
 *   a failed commit can be replayed into a fresh writer of the underlying store.</li>
 * </ul>
 */
public class RetryingObjectStore implements ObjectStore {
    private static final Logger LOG = Logger.getLogger(RetryingObjectStore.class);
    static final int SPOOL_IN_MEMORY = 8 * 1024 * 1024;

    private final ObjectStore delegate;
    private final RetryPolicy policy;

    public RetryingObjectStore(ObjectStore delegate, RetryPolicy policy) {
        this.delegate = delegate;
        this.policy = policy;
    }

    public RetryingObjectStore(ObjectStore delegate) {
        this(delegate, RetryPolicy.defaults());
    }

    public ObjectStore delegate() {
        return delegate;
    }

    <T> T retry(String what, Supplier<T> op) {
        for (int attempt = 1; ; attempt++) {
            try {
                return op.get();
            } catch (RuntimeException e) {
                if (attempt >= policy.maxAttempts() || !RetryPolicy.isTransient(e)) {
                    throw e;
                }
                pause(what, attempt, e);
            }
        }
    }

    private void pause(String what, int attempt, Exception e) {
        var wait = policy.backoff(attempt);
        LOG.debugf("%s failed (try %d of %d), retrying in %d ms: %s", what, attempt, policy.maxAttempts(),
                wait.toMillis(), e.toString());
        try {
            Thread.sleep(wait);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while retrying " + what, e);
        }
    }

    @Override
    public ObjectWriter create(String bucket, String key) {
        return new SpoolingWriter(bucket, key);
    }

    @Override
    public void put(String bucket, String key, byte[] content) {
        retry("put " + key, () -> {
            delegate.put(bucket, key, content);
            return null;
        });
    }

    /** A retry after a create whose answer was lost reports false: the object is there, written by this caller. */
    @Override
    public boolean putIfAbsent(String bucket, String key, byte[] content) {
        return retry("putIfAbsent " + key, () -> delegate.putIfAbsent(bucket, key, content));
    }

    @Override
    public InputStream open(String bucket, String key) {
        // the length the read must reach comes with the read: a chunk fetched is one round trip, not two
        Sized first = retry("open " + key, () -> delegate.openSized(bucket, key));
        return new ResumingStream(bucket, key, first.length(), first.content());
    }

    @Override
    public Sized openSized(String bucket, String key) {
        Sized first = retry("open " + key, () -> delegate.openSized(bucket, key));
        return new Sized(new ResumingStream(bucket, key, first.length(), first.content()), first.length());
    }

    @Override
    public Optional<Long> size(String bucket, String key) {
        return retry("size " + key, () -> delegate.size(bucket, key));
    }

    @Override
    public Optional<ObjectInfo> stat(String bucket, String key) {
        return retry("stat " + key, () -> delegate.stat(bucket, key));
    }

    @Override
    public List<String> list(String bucket, String prefix) {
        return retry("list " + prefix, () -> delegate.list(bucket, prefix));
    }

    @Override
    public void listSizes(String bucket, String prefix, java.util.function.BiConsumer<String, Long> each) {
        retry("list " + prefix, () -> {
            delegate.listSizes(bucket, prefix, each);
            return null;
        });
    }

    @Override
    public void delete(String bucket, String key) {
        retry("delete " + key, () -> {
            delegate.delete(bucket, key);
            return null;
        });
    }

    @Override
    public void ensureBucket(String bucket) {
        retry("ensureBucket " + bucket, () -> {
            delegate.ensureBucket(bucket);
            return null;
        });
    }

    @Override
    public void ping() {
        retry("ping", () -> {
            delegate.ping();
            return null;
        });
    }

    /** Delivers exactly {@code expected} bytes or throws; resumes by re-opening and skipping after a transient break. */
    private final class ResumingStream extends InputStream {
        private final String bucket;
        private final String key;
        private final long expected;
        private InputStream current;
        private long position;
        private int failures;
        private boolean closed;

        ResumingStream(String bucket, String key, long expected, InputStream first) {
            this.bucket = bucket;
            this.key = key;
            this.expected = expected;
            this.current = first;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (closed) {
                throw new IOException("stream of " + key + " is closed");
            }
            if (len == 0) {
                return 0;
            }
            while (true) {
                try {
                    if (current == null) {
                        current = delegate.open(bucket, key);
                        current.skipNBytes(position);
                    }
                    int n = current.read(b, off, len);
                    if (n < 0) {
                        if (position < expected) {
                            throw new ShortReadException(bucket, key, position, expected);
                        }
                        return -1;
                    }
                    if (position + n > expected) {
                        throw new ShortReadException("object " + bucket + "/" + key + " is longer than its size "
                                + expected + ": it changed while being read");
                    }
                    position += n;
                    return n;
                } catch (IOException | RuntimeException e) {
                    closeQuietly();
                    failures++;
                    if (failures >= policy.maxAttempts() || !RetryPolicy.isTransient(e)) {
                        if (e instanceof ShortReadException s) {
                            throw s;
                        }
                        if (e instanceof ObjectNotFoundException nf) {
                            throw nf;
                        }
                        ShortReadException s = new ShortReadException(bucket, key, position, expected);
                        s.initCause(e);
                        throw s;
                    }
                    pause("read " + key + " at byte " + position, failures, e);
                }
            }
        }

        private void closeQuietly() {
            if (current != null) {
                try {
                    current.close();
                } catch (IOException | RuntimeException ignored) {
                    // the broken stream is dropped either way
                }
                current = null;
            }
        }

        @Override
        public void close() {
            closed = true;
            closeQuietly();
        }
    }

    /** Keeps a replayable copy of what is written so the commit can be retried into a new underlying writer. */
    private final class SpoolingWriter extends ObjectWriter {
        private final String bucket;
        private final String key;
        private byte[] memory = new byte[64 * 1024];
        private int inMemory;
        private Path spoolFile;
        private OutputStream spool;
        private boolean done;

        SpoolingWriter(String bucket, String key) {
            this.bucket = bucket;
            this.key = key;
        }


        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (done) {
                throw new IOException("write after commit or abort of " + key);
            }
            if (spool == null && inMemory + len <= SPOOL_IN_MEMORY) {
                if (inMemory + len > memory.length) {
                    memory = java.util.Arrays.copyOf(memory, Math.min(SPOOL_IN_MEMORY,
                            Math.max(memory.length * 2, inMemory + len)));
                }
                System.arraycopy(b, off, memory, inMemory, len);
                inMemory += len;
                return;
            }
            if (spool == null) {
                spoolFile = Files.createTempFile("lifeboat-spool-", ".bin");
                spool = new java.io.BufferedOutputStream(Files.newOutputStream(spoolFile), 256 * 1024);
                spool.write(memory, 0, inMemory);
                memory = null;
            }
            spool.write(b, off, len);
        }

        @Override
        public StoredObject commit() {
            if (done) {
                throw new IllegalStateException("already finished: " + key);
            }
            try {
                if (spool != null) {
                    spool.close();
                }
                return retry("commit " + key, () -> {
                    ObjectWriter w = delegate.create(bucket, key);
                    try {
                        if (spoolFile == null) {
                            w.write(memory, 0, inMemory);
                        } else {
                            try (InputStream in = Files.newInputStream(spoolFile)) {
                                in.transferTo(w);
                            }
                        }
                        return w.commit();
                    } catch (IOException e) {
                        w.abort();
                        throw new UncheckedIOException(e);
                    } catch (RuntimeException e) {
                        w.abort();
                        throw e;
                    }
                });
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                release();
            }
        }

        @Override
        public void abort() {
            release();
        }

        private void release() {
            if (done) {
                return;
            }
            done = true;
            memory = null;
            try {
                if (spool != null) {
                    spool.close();
                }
                if (spoolFile != null) {
                    Files.deleteIfExists(spoolFile);
                }
            } catch (IOException ignored) {
                // a leftover temp file is harmless
            }
        }

        @Override
        public void close() {
            abort();
        }
    }
}
