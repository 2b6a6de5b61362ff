package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.ForwardingObjectStore;
import dev.lifeboat.repository.blob.ObjectStore;

import java.io.InputStream;
import java.util.Optional;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Stages the worst interleaving of two writers creating one new repository: both see no key file, the first creates
 * one and reads it back, and only then does the second write its own. Everything else goes straight to the real store.
 */
final class KeyFileRace extends ForwardingObjectStore {
    private final CyclicBarrier bothSawNoKeyFile = new CyclicBarrier(2);
    private final AtomicInteger absentChecks = new AtomicInteger();
    private final AtomicReference<Thread> first = new AtomicReference<>();
    private final CountDownLatch firstReadItsKeys = new CountDownLatch(1);

    KeyFileRace(ObjectStore delegate) {
        super(delegate);
    }

    private static boolean keyFile(String key) {
        return key.endsWith("keys/repository-key.json");
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the other writer did not read its key file within 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void beforeCreate(String key) {
        if (keyFile(key) && !first.compareAndSet(null, Thread.currentThread())
                && first.get() != Thread.currentThread()) {
            await(firstReadItsKeys);
        }
    }

    @Override
    public Optional<Long> size(String bucket, String key) {
        Optional<Long> size = delegate.size(bucket, key);
        if (keyFile(key) && size.isEmpty() && absentChecks.incrementAndGet() <= 2) {
            try {
                bothSawNoKeyFile.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                throw new IllegalStateException("the second writer never looked for the key file", e);
            }
        }
        return size;
    }

    @Override
    public void put(String bucket, String key, byte[] content) {
        beforeCreate(key);
        delegate.put(bucket, key, content);
    }

    @Override
    public boolean putIfAbsent(String bucket, String key, byte[] content) {
        beforeCreate(key);
        return delegate.putIfAbsent(bucket, key, content);
    }

    @Override
    public InputStream open(String bucket, String key) {
        InputStream in = delegate.open(bucket, key);
        if (keyFile(key) && first.get() == Thread.currentThread()) {
            firstReadItsKeys.countDown();
        }
        return in;
    }
}
