package dev.lifeboat.repository.blob;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** One behaviour, every implementation: S3 (against the real S3Proxy) and a local directory. */
abstract class ObjectStoreContract {
    static final String BUCKET = "lifeboat-contract-test";

    abstract ObjectStore store();

    @Test
    void streamedWriteIsReadBackWithItsSizeAndDigest() throws IOException {
        ObjectStore store = store();
        store.ensureBucket(BUCKET);
        String key = "t/" + UUID.randomUUID() + "/big.bin";
        byte[] data = new byte[12 * 1024 * 1024 + 123]; // more than two 5 MiB parts
        new Random(1).nextBytes(data);
        StoredObject stored;
        try (ObjectWriter w = store.create(BUCKET, key)) {
            for (int off = 0; off < data.length; off += 100_000) {
                w.write(data, off, Math.min(100_000, data.length - off));
            }
            stored = w.commit();
        }
        MessageDigest md = Sha256.newDigest();
        md.update(data);
        assertThat(stored.sizeBytes()).isEqualTo(data.length);
        assertThat(stored.sha256()).isEqualTo(Sha256.hex(md));
        assertThat(store.size(BUCKET, key)).contains((long) data.length);
        Sha256.Digest back = Sha256.of(store.open(BUCKET, key));
        assertThat(back.sha256()).isEqualTo(stored.sha256());
        assertThat(back.sizeBytes()).isEqualTo(data.length);
    }

    @Test
    void smallObjectsListAndDelete() {
        ObjectStore store = store();
        store.ensureBucket(BUCKET);
        String prefix = "l/" + UUID.randomUUID() + "/";
        store.put(BUCKET, prefix + "a", "A".getBytes());
        store.put(BUCKET, prefix + "b", "BB".getBytes());
        assertThat(store.list(BUCKET, prefix)).containsExactly(prefix + "a", prefix + "b");
        store.delete(BUCKET, prefix + "a");
        assertThat(store.list(BUCKET, prefix)).containsExactly(prefix + "b");
        assertThat(store.size(BUCKET, prefix + "a")).isEqualTo(Optional.empty());
    }

    @Test
    void listingWithSizesGivesEveryObjectUnderThePrefixWithItsSize() {
        ObjectStore store = store();
        store.ensureBucket(BUCKET);
        String prefix = "z/" + UUID.randomUUID() + "/";
        store.put(BUCKET, prefix + "a", "A".getBytes());
        store.put(BUCKET, prefix + "d/b", "BBB".getBytes());
        store.put(BUCKET, "z/" + UUID.randomUUID() + "/elsewhere", "C".getBytes());
        java.util.Map<String, Long> sizes = new java.util.TreeMap<>();
        store.listSizes(BUCKET, prefix, sizes::put);
        assertThat(sizes).containsExactly(java.util.Map.entry(prefix + "a", 1L), java.util.Map.entry(prefix + "d/b", 3L));
        java.util.Map<String, Long> none = new java.util.TreeMap<>();
        store.listSizes(BUCKET, "z/" + UUID.randomUUID() + "/", none::put);
        assertThat(none).isEmpty();
    }

    @Test
    void statGivesSizeAndAModificationTimeThatMovesWhenTheObjectIsWrittenAgain() throws InterruptedException {
        ObjectStore store = store();
        store.ensureBucket(BUCKET);
        String key = "s/" + UUID.randomUUID();
        assertThat(store.stat(BUCKET, key)).isEmpty();
        Instant before = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        store.put(BUCKET, key, "first".getBytes());
        ObjectInfo first = store.stat(BUCKET, key).orElseThrow();
        assertThat(first.size()).isEqualTo(5);
        assertThat(first.lastModified()).isAfterOrEqualTo(before.minusSeconds(5)).isBeforeOrEqualTo(Instant.now().plusSeconds(5));
        Thread.sleep(1100); // S3 reports whole seconds
        store.put(BUCKET, key, "second!".getBytes());
        ObjectInfo second = store.stat(BUCKET, key).orElseThrow();
        assertThat(second.size()).isEqualTo(7);
        assertThat(second.lastModified()).isAfter(first.lastModified());
        store.delete(BUCKET, key);
        assertThat(store.stat(BUCKET, key)).isEmpty();
    }

    @Test
    void putIfAbsentCreatesOnceAndKeepsTheFirstContent() throws IOException {
        ObjectStore store = store();
        store.ensureBucket(BUCKET);
        String key = "c/" + UUID.randomUUID() + "/key.json";
        assertThat(store.putIfAbsent(BUCKET, key, "first".getBytes())).isTrue();
        assertThat(store.putIfAbsent(BUCKET, key, "second, longer".getBytes())).isFalse();
        try (var in = store.open(BUCKET, key)) {
            assertThat(new String(in.readAllBytes())).isEqualTo("first");
        }
    }

    @Test
    void ofWritersRacingToCreateOneKeyExactlyOneWinsAndItsContentStays() throws Exception {
        ObjectStore store = store();
        store.ensureBucket(BUCKET);
        String key = "c/" + UUID.randomUUID() + "/key.json";
        int writers = 6;
        var start = new java.util.concurrent.CountDownLatch(1);
        var pool = java.util.concurrent.Executors.newFixedThreadPool(writers);
        try {
            java.util.List<java.util.concurrent.Future<Boolean>> results = new java.util.ArrayList<>();
            for (int i = 0; i < writers; i++) {
                byte[] content = ("writer-" + i).getBytes();
                results.add(pool.submit(() -> {
                    start.await();
                    return store.putIfAbsent(BUCKET, key, content);
                }));
            }
            start.countDown();
            java.util.List<Integer> winners = new java.util.ArrayList<>();
            for (int i = 0; i < writers; i++) {
                if (results.get(i).get()) {
                    winners.add(i);
                }
            }
            assertThat(winners).hasSize(1);
            try (var in = store.open(BUCKET, key)) {
                assertThat(new String(in.readAllBytes())).isEqualTo("writer-" + winners.getFirst());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void abortedWriteLeavesNothing() throws IOException {
        ObjectStore store = store();
        store.ensureBucket(BUCKET);
        String key = "a/" + UUID.randomUUID();
        try (ObjectWriter w = store.create(BUCKET, key)) {
            w.write(new byte[6 * 1024 * 1024]);
            w.abort();
        }
        assertThat(store.size(BUCKET, key)).isEmpty();
        assertThatThrownBy(() -> store.open(BUCKET, key).readAllBytes()).isInstanceOf(ObjectNotFoundException.class);
    }
}
