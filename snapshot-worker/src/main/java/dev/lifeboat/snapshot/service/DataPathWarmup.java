package dev.lifeboat.snapshot.service;

import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.blob.S3Warmup;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.content.ContentCodec;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.CopyRows;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.SnapshotReader;
import dev.lifeboat.repository.snapshot.SnapshotWriter;
import dev.lifeboat.repository.snapshot.WriteResult;
import dev.lifeboat.snapshot.config.SnapshotConfig;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Right after start, backs up made-up rows into a throwaway repository in this worker's spool and restores them, then
 * deletes it: the data path (the table fingerprints' row hashing, chunking, zstd, AES-GCM, the keyed chunk ids, the
 * manifest) and the S3 client's request path ({@link S3Warmup}, against an in-memory HTTP client) are compiled by the
 * JIT
 * before the first real backup needs it, which otherwise pays for that on its own clock (the first logical FULL of a
 * fresh worker took several times as long as the next). On a thread of its own; a failure is logged and changes
 * nothing else. {@code lifeboat.snapshot.warmup-bytes} sets how much (0: none).
 */
@ApplicationScoped
public class DataPathWarmup {
    private static final Logger LOG = Logger.getLogger(DataPathWarmup.class);
    /** The made-up data comes as this many files, as a dump comes as several tables. */
    static final int FILES = 4;

    @Inject
    SnapshotConfig config;
    @Inject
    Spool spool;

    void onStart(@Observes StartupEvent event) {
        long bytes = config.warmupBytes();
        if (bytes > 0 && !ContentCodec.optimisingCompilerAvailable()) {
            LOG.info("data path warm-up skipped: " + ContentCodec.NO_OPTIMISING_COMPILER);
        } else if (bytes > 0) {
            Thread.ofPlatform().name("data-path-warmup").daemon().start(() -> {
                try {
                    Result r = run(spool.job("warmup-" + UUID.randomUUID()), bytes);
                    LOG.infof("data path warmed: %d MiB backed up and restored, %d object store requests (in "
                            + "memory) in %d ms", r.bytes() >> 20, r.objectStoreRequests(), r.millis());
                } catch (RuntimeException | IOException e) {
                    LOG.warnf("data path warm-up failed (backups are not affected): %s", e.toString());
                }
            });
        }
    }

    record Result(long bytes, long restoredBytes, int objectStoreRequests, long millis) {
    }

    /**
     * Requests sent through the S3 client's in-memory warm-up for a warm-up of {@code bytes}: one PUT and GET pair
     * per 32 KiB, at most 2000 pairs (the 64 MiB default: a fresh worker's first thousand requests otherwise took
     * 2.6-3.8 s, warm ones 0.3-0.5 s).
     */
    static int objectStoreRounds(long bytes) {
        return (int) Math.min(2000, bytes >> 15);
    }

    /** Backs up {@code bytes} of made-up rows into a repository under {@code dir}, restores them, removes {@code dir}. */
    static Result run(Path dir, long bytes) throws IOException {
        long started = System.nanoTime();
        // the object store's request path: the first backup sends hundreds of requests through it
        S3Warmup.Result requests = S3Warmup.run(objectStoreRounds(bytes), 4096);
        try {
            Files.createDirectories(dir);
            Repository repo = Repository.init(new LocalDirectoryObjectStore(dir), "warmup", "repository",
                    MasterKey.generate());
            List<SnapshotWriter.Entry> entries = new ArrayList<>();
            for (int i = 0; i < FILES; i++) {
                long seed = i;
                // read as a table's data file of a dump is, through the table fingerprints' row hashing
                entries.add(new SnapshotWriter.Entry("table-" + i + ".dat", () -> CopyRows.hashing(
                        new Rows(bytes / FILES, seed), rows -> { })));
            }
            WriteResult written = repo.writer(Chunker.Sizes.DUMP).write(entries.iterator(), BackupType.FULL,
                    ChainContext.latestChain(UUID.randomUUID().toString()), null);
            Manifest manifest = written.manifest();
            SnapshotReader reader = repo.reader();
            long restored = 0;
            for (Manifest.FileEntry file : manifest.files()) {
                restored += reader.copy(manifest, file, OutputStream.nullOutputStream());
            }
            return new Result(bytes / FILES * FILES, restored, requests.requests(),
                    (System.nanoTime() - started) / 1_000_000);
        } finally {
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("removing the warm-up repository " + dir, e);
        }
    }

    /**
     * Made-up rows in the shape of a dump's table data: numbers, words, timestamps, a little JSON, repeated with
     * variation, so that it compresses and chunks as real data roughly does.
     */
    static final class Rows extends InputStream {
        private static final String[] WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
                "hotel", "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa"};
        private final SplittableRandom random;
        private long remaining;
        private long row;
        private byte[] line = new byte[0];
        private int at;

        Rows(long bytes, long seed) {
            this.remaining = bytes;
            this.random = new SplittableRandom(seed);
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (remaining <= 0) {
                return -1;
            }
            int n = 0;
            while (n < len && remaining > 0) {
                if (at == line.length) {
                    line = nextLine();
                    at = 0;
                }
                int take = (int) Math.min(Math.min(len - n, line.length - at), remaining);
                System.arraycopy(line, at, b, off + n, take);
                at += take;
                n += take;
                remaining -= take;
            }
            return n;
        }

        private byte[] nextLine() {
            row++;
            String text = row + "\t" + WORDS[random.nextInt(WORDS.length)] + "-" + random.nextInt(100_000) + "\t"
                    + random.nextInt(1_000_000) / 100.0 + "\t2026-" + (1 + random.nextInt(12)) + "-"
                    + (1 + random.nextInt(28)) + " " + random.nextInt(24) + ":" + random.nextInt(60) + ":00+00\t"
                    + "{\"k\": " + random.nextInt(1000) + ", \"tag\": \"" + WORDS[random.nextInt(WORDS.length)]
                    + "\"}\t" + Long.toHexString(random.nextLong()) + "\n";
            return text.getBytes(StandardCharsets.US_ASCII);
        }
    }
}
