package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.keys.MasterKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Backups of an evolving directory (random FULL / INCREMENTAL / DIFFERENTIAL, one after the other like the backups
 * of one source), expiry of random backups and garbage collection all run at once; then every kept backup is
 * restored and compared byte for byte with the directory it was taken from. The seed is printed; rerun with
 * {@code -Dlifeboat.gc.seed=<seed>} to get the same directories, types and expiry choices (the interleaving of the
 * three threads is up to the scheduler, so a rerun is close, not identical).
 */
abstract class RandomizedGarbageCollectionContract {
    static final String BUCKET = "lifeboat-gc-random-test";
    static final Chunker.Sizes SMALL = new Chunker.Sizes(1024, 4096, 16 * 1024);

    @TempDir
    Path tmp;

    abstract ObjectStore store();

    abstract int backups();

    /** Small, so that sweeps happen during the run; every backup must be shorter (asserted). */
    abstract Duration grace();

    record Taken(Manifest manifest, Map<String, String> fingerprint) {
    }

    @Test
    void concurrentBackupsExpiryAndGcNeverLoseAKeptBackup() throws Exception {
        long seed = Long.getLong("lifeboat.gc.seed", new Random().nextLong());
        System.out.println(getClass().getSimpleName() + ": seed " + seed + " (rerun with -Dlifeboat.gc.seed=" + seed + ")");
        ObjectStore store = store();
        Repository repo = Repository.init(store, BUCKET, "gc-random-" + UUID.randomUUID(), MasterKey.generate());
        GarbageCollector gc = repo.garbageCollector(GarbageCollector.Settings.withGrace(grace()));

        Object lock = new Object();
        List<Taken> kept = new ArrayList<>();
        List<Taken> expired = new ArrayList<>();
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong swept = new AtomicLong();
        AtomicLong freed = new AtomicLong();
        Set<String> chainsDeleted = java.util.concurrent.ConcurrentHashMap.newKeySet();
        List<Long> durations = new ArrayList<>();

        Thread backupThread = thread("backups", failure, () -> {
            Random rnd = new Random(seed);
            Path src = Files.createDirectories(tmp.resolve("src"));
            Map<String, List<byte[]>> history = new HashMap<>();
            for (int i = 0; i < backups(); i++) {
                evolve(src, rnd, i, history);
                BackupType type = i == 0 ? BackupType.FULL : pick(rnd);
                Map<String, String> before = TestData.fingerprint(src);
                WriteResult w = repo.writer(2, SMALL).write(src, type, ChainContext.latestChain("b" + i));
                synchronized (lock) {
                    kept.add(new Taken(w.manifest(), before));
                    durations.add(w.wallMillis());
                }
                Thread.sleep(rnd.nextInt(120));
            }
        });
        Thread expiryThread = thread("expiry", failure, () -> {
            Random rnd = new Random(seed + 1);
            while (!done.get()) {
                Thread.sleep(40 + rnd.nextInt(200));
                synchronized (lock) {
                    // keep a handful (4 to 11) so that many backups are left to restore at the end
                    int keep = 4 + rnd.nextInt(8);
                    for (int n = rnd.nextInt(3); n > 0 && kept.size() > keep; n--) {
                        List<Taken> candidates = expirable(kept);
                        if (candidates.isEmpty()) {
                            break;
                        }
                        Taken victim = candidates.get(rnd.nextInt(candidates.size()));
                        store.delete(repo.bucket(), repo.layout().manifest(victim.manifest().chainId(),
                                victim.manifest().backupId()));
                        kept.remove(victim);
                        expired.add(victim);
                    }
                }
            }
        });
        Thread gcThread = thread("gc", failure, () -> {
            Random rnd = new Random(seed + 2);
            while (!done.get()) {
                Thread.sleep(50 + rnd.nextInt(250));
                GarbageCollector.Result r = gc.collect();
                swept.addAndGet(r.chunksDeleted());
                freed.addAndGet(r.bytesFreed());
                chainsDeleted.addAll(r.chainsDeleted());
            }
        });
        expiryThread.start();
        gcThread.start();
        backupThread.start();
        backupThread.join();
        done.set(true);
        expiryThread.join();
        gcThread.join();
        assertThat(failure.get()).as("a thread failed").isNull();

        // the grace period is only safe if it is longer than every backup: that is the premise, so check it
        assertThat(durations).hasSize(backups()).allSatisfy(d -> assertThat(d).isLessThan(grace().toMillis()));

        // let every mark age past the grace period and sweep; a chunk marked within the clock tolerance of its upload
        // counts as written again and gets a fresh mark, so it may take one more grace period
        Thread.sleep(GarbageCollector.DEFAULT_CLOCK_TOLERANCE.plusSeconds(1).toMillis());
        GarbageCollector.Result last = gc.collect();
        for (int pass = 0; pass < 3 && (last.marksPending() > 0 || pass == 0); pass++) {
            swept.addAndGet(last.chunksDeleted());
            freed.addAndGet(last.bytesFreed());
            chainsDeleted.addAll(last.chainsDeleted());
            Thread.sleep(grace().plusSeconds(1).toMillis());
            last = gc.collect();
        }
        swept.addAndGet(last.chunksDeleted());
        freed.addAndGet(last.bytesFreed());
        chainsDeleted.addAll(last.chainsDeleted());
        assertThat(last.marksPending()).as("marks left after the final passes").isZero();
        System.out.printf("%s: %d backups (longest %d ms, grace %s), %d kept, %d expired; %d chunks swept (%d bytes),"
                        + " %d chains deleted%n", getClass().getSimpleName(), backups(),
                durations.stream().mapToLong(Long::longValue).max().orElse(0), grace(), kept.size(), expired.size(),
                swept.get(), freed.get(), chainsDeleted.size());
        assertThat(expired).isNotEmpty();
        // garbage existed when an expired backup referenced a chunk that no kept backup of its chain does; a seed whose
        // expired backups share all their chunks with kept ones leaves none, and then nothing must have been swept
        Map<String, Set<String>> keptIds = new HashMap<>();
        kept.forEach(t -> keptIds.computeIfAbsent(t.manifest().chainId(), c -> new HashSet<>())
                .addAll(GarbageCollectionContract.ids(t.manifest())));
        boolean garbageExisted = expired.stream().anyMatch(t -> !keptIds.getOrDefault(t.manifest().chainId(), Set.of())
                .containsAll(GarbageCollectionContract.ids(t.manifest())));
        if (garbageExisted) {
            assertThat(swept.get() + chainsDeleted.size()).as("garbage was collected").isPositive();
        }

        // nothing kept is lost: every kept backup verifies and restores to exactly what it was taken from
        for (Taken t : kept) {
            Manifest m = t.manifest();
            assertThat(repo.manifest(m.chainId(), m.backupId())).as("manifest of %s", m.backupId()).isPresent();
            assertThat(repo.verifier().quick(m).problems()).as("quick verify of %s", m.backupId()).isEmpty();
            Path dst = tmp.resolve("restore-" + m.backupId());
            repo.reader().restore(m, dst);
            assertThat(TestData.fingerprint(dst)).as("restore of %s (%s)", m.backupId(), m.type())
                    .isEqualTo(t.fingerprint());
        }
        // and nothing else is left: each chain holds exactly the chunks its kept manifests reference
        Map<String, Set<String>> referenced = new HashMap<>();
        for (Taken t : kept) {
            referenced.computeIfAbsent(t.manifest().chainId(), c -> new HashSet<>())
                    .addAll(GarbageCollectionContract.ids(t.manifest()));
        }
        Map<String, Set<String>> stored = store.list(repo.bucket(), repo.layout().chainsRoot()).stream()
                .filter(k -> k.contains("/chunks/"))
                .collect(Collectors.groupingBy(k -> k.substring(repo.layout().chainsRoot().length()).split("/")[0],
                        Collectors.mapping(k -> k.substring(k.lastIndexOf('/') + 1), Collectors.toSet())));
        referenced.values().removeIf(Set::isEmpty);
        assertThat(stored).isEqualTo(referenced);
        assertThat(repo.chains()).containsExactlyInAnyOrderElementsOf(
                kept.stream().map(t -> t.manifest().chainId()).collect(Collectors.toSet()));
    }

    /** Not the newest, and no kept backup was taken against it (its parent chain and its FULL stay). */
    private static List<Taken> expirable(List<Taken> kept) {
        if (kept.size() < 2) {
            return List.of();
        }
        Set<String> parents = kept.stream().map(t -> t.manifest().parentBackupId()).filter(p -> p != null)
                .collect(Collectors.toSet());
        return kept.subList(0, kept.size() - 1).stream()
                .filter(t -> !parents.contains(t.manifest().backupId())).toList();
    }

    private static BackupType pick(Random rnd) {
        int p = rnd.nextInt(100);
        return p < 8 ? BackupType.FULL : p < 60 ? BackupType.INCREMENTAL : BackupType.DIFFERENTIAL;
    }

    /**
     * The first call creates a few files; later calls change, append, cut, add and delete files, or put a file back
     * to one of its earlier versions. Every version is remembered.
     */
    private static void evolve(Path src, Random rnd, int round, Map<String, List<byte[]>> history) throws IOException {
        if (round == 0) {
            for (int f = 0; f < 6; f++) {
                addFile(src, rnd, "f" + f);
            }
        } else {
            change(src, rnd, round, history);
        }
        try (Stream<Path> s = Files.list(src)) {
            for (Path f : s.toList()) {
                history.computeIfAbsent(f.getFileName().toString(), k -> new ArrayList<>()).add(Files.readAllBytes(f));
            }
        }
    }

    private static void change(Path src, Random rnd, int round, Map<String, List<byte[]>> history) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(src)) {
            files = s.sorted().toList();
        }
        for (int op = 1 + rnd.nextInt(3); op > 0; op--) {
            Path f = files.get(rnd.nextInt(files.size()));
            if (!Files.exists(f)) {
                continue;
            }
            List<byte[]> versions = history.get(f.getFileName().toString());
            if (versions != null && versions.size() > 2 && rnd.nextInt(3) == 0) {
                // back to a recent earlier version: its chunks are held by recent backups of the chain, which expiry
                // may be deleting while this backup runs (the case the grace period is for)
                Files.write(f, versions.get(versions.size() - 2 - rnd.nextInt(Math.min(3, versions.size() - 1))));
                continue;
            }
            switch (rnd.nextInt(6)) {
                case 0, 1 -> {
                    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                        byte[] patch = TestData.random(100 + rnd.nextInt(2000), rnd.nextLong());
                        raf.seek(raf.length() == 0 ? 0 : rnd.nextLong(raf.length()));
                        raf.write(patch);
                    }
                }
                case 2 -> Files.write(f, TestData.tableText(500 + rnd.nextInt(8000), rnd.nextLong()),
                        java.nio.file.StandardOpenOption.APPEND);
                case 3 -> {
                    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                        raf.setLength(raf.length() / 2);
                    }
                }
                case 4 -> addFile(src, rnd, "r" + round + "-" + op);
                default -> {
                    if (files.size() > 2) {
                        Files.delete(f);
                    }
                }
            }
        }
    }

    private static void addFile(Path src, Random rnd, String name) throws IOException {
        byte[] data = rnd.nextBoolean() ? TestData.tableText(5_000 + rnd.nextInt(50_000), rnd.nextLong())
                : TestData.random(1_000 + rnd.nextInt(40_000), rnd.nextLong());
        Files.write(src.resolve(name + ".dat"), data);
    }

    interface Body {
        void run() throws Exception;
    }

    private static Thread thread(String name, AtomicReference<Throwable> failure, Body body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
                e.printStackTrace();
            }
        }, "random-" + name);
        t.setDaemon(true);
        return t;
    }
}
