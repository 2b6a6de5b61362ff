package dev.lifeboat.storage;

import dev.lifeboat.repository.blob.FaultInjectingObjectStore;
import dev.lifeboat.repository.blob.ObjectInfo;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.S3ObjectStore;
import jakarta.annotation.Priority;
import jakarta.enterprise.inject.Alternative;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * The worker under test talks to the real S3Proxy through a {@link FaultInjectingObjectStore} that injects no faults
 * unless a test asks it to hold writes (a long offsite copy): every other test sees the store unchanged. It counts
 * the reads per bucket, so that a test can tell a bucket was not read at all.
 */
public class HoldableObjectStore {

    @Produces
    @Singleton
    @Alternative
    @Priority(1)
    Counting store(S3ObjectStore s3) {
        return new Counting(s3);
    }

    /** Counts opens, sizes, stats and listings per bucket (whoever asks: the worker, or the test itself). */
    public static class Counting extends FaultInjectingObjectStore {
        private final Map<String, AtomicLong> reads = new ConcurrentHashMap<>();

        Counting(ObjectStore delegate) {
            super(delegate, Faults.none(), 1);
        }

        /** Reads of {@code bucket} so far. */
        public long reads(String bucket) {
            AtomicLong n = reads.get(bucket);
            return n == null ? 0 : n.get();
        }

        private void read(String bucket) {
            reads.computeIfAbsent(bucket, b -> new AtomicLong()).incrementAndGet();
        }

        @Override
        public InputStream open(String bucket, String key) {
            read(bucket);
            return super.open(bucket, key);
        }

        @Override
        public Optional<Long> size(String bucket, String key) {
            read(bucket);
            return super.size(bucket, key);
        }

        @Override
        public Optional<ObjectInfo> stat(String bucket, String key) {
            read(bucket);
            return super.stat(bucket, key);
        }

        @Override
        public List<String> list(String bucket, String prefix) {
            read(bucket);
            return super.list(bucket, prefix);
        }

        @Override
        public void listSizes(String bucket, String prefix, BiConsumer<String, Long> each) {
            read(bucket);
            super.listSizes(bucket, prefix, each);
        }
    }
}
