package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.Sha256;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.content.ContentCodec;
import dev.lifeboat.repository.content.EncodedChunk;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * Backs up a directory into the repository as one backup of a chain.
 *
 * <p>The files are read in path order by the calling thread and cut into chunks; {@code parallelism} workers hash,
 * compress, encrypt and upload them. At most {@code 2 * parallelism} chunks are in flight, each in a slot (its array
 * and one to compress it into, together a little over {@code 2 * maxChunkSize}) that is used again for a later chunk
 * once this one is stored, so a chunk allocates only its stored bytes (arrays of megabytes made afresh per chunk kept
 * the garbage collector busy through a whole backup). Memory stays around {@code (4 * parallelism + 2 * readers) *
 * maxChunkSize} for the slots and the readers' buffers, plus the stored bytes of the {@code parallelism} chunks being
 * uploaded, whatever the directory size. The manifest goes up last, after every
 * chunk it names is stored. Streamed entries may be read by several threads at once ({@link #readers(int)}): a
 * producer that writes several files at a time (pg_dump's parallel jobs) is then followed in all of them.
 *
 * <p>The manifest must fit the repository's cap ({@link Repository#maxManifestBytes}): the writer adds up, as chunks
 * are cut, the least their references can take in it, and stops the backup ({@link ManifestTooLargeException}) as
 * soon as that passes the cap, instead of storing every chunk first and then finding the manifest too large.
 */
public final class SnapshotWriter {
    private static final Logger LOG = Logger.getLogger(SnapshotWriter.class);
    private static final DateTimeFormatter CHAIN_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSSSSS'Z'")
            .withZone(ZoneOffset.UTC);

    private final Repository repo;
    private final int parallelism;
    private final Chunker.Sizes sizes;
    private Runnable beforeManifest = () -> { };
    private java.util.function.Supplier<Manifest.Physical> physical = () -> null;
    private int readers = 1;
    private ManifestRecorder recorder = (key, chainId, sha256) -> { };
    private boolean foreignChecked;

    /**
     * The least number of bytes one more chunk reference (a one-digit stored size, its plaintext size aside) adds
     * to a manifest as {@link Json} writes it: measured, not assumed, from two manifests one reference apart.
     */
    static final long REFERENCE_BYTES = measureReference();

    SnapshotWriter(Repository repo, int parallelism, Chunker.Sizes sizes) {
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism must be at least 1");
        }
        this.repo = repo;
        this.parallelism = parallelism;
        this.sizes = sizes;
    }

    private record Plan(BackupType type, String chainId, String parentBackupId, Map<String, Manifest.ChunkRef> held) {
    }

    /**
     * Runs {@code hook} once every chunk is stored and before the manifest (and a FULL's chain marker) is written:
     * where crash tests stop a writer, since a crash there must leave no backup, only chunks the chain may reuse.
     */
    public SnapshotWriter beforeManifest(Runnable hook) {
        this.beforeManifest = Objects.requireNonNull(hook);
        return this;
    }

    /** Told of the manifest about to be stored, before it is: see {@link #recordManifest}. */
    @FunctionalInterface
    public interface ManifestRecorder {
        void writing(String key, String chainId, String sha256);
    }

    /**
     * Tells {@code recorder} the key, chain and SHA-256 of the manifest just before it is stored (after
     * {@link #beforeManifest}): a caller that keeps them can later tell its own manifest from one that someone else
     * put under the same key. An exception from it stores no manifest.
     */
    public SnapshotWriter recordManifest(ManifestRecorder recorder) {
        this.recorder = Objects.requireNonNull(recorder);
        return this;
    }

    /**
     * The caller has made sure that no manifest of this backup in the repository is one to announce (snapshot-worker
     * keeps the hash of every manifest it writes, and a manifest found that it did not write is not its backup): the
     * writer writes the backup instead of refusing because a manifest of its id exists. A FULL goes into a new chain;
     * any other type into its chain, over a manifest of that id there.
     */
    public SnapshotWriter foreignManifestsChecked() {
        this.foreignChecked = true;
        return this;
    }

    /**
     * Asks {@code physical} for the physical facts of the backup once its entries are all read, before the manifest:
     * a producer learns where its backup ends only when its stream has ended. It may throw to write no manifest (the
     * producer failed after its last byte).
     */
    public SnapshotWriter physical(java.util.function.Supplier<Manifest.Physical> physical) {
        this.physical = Objects.requireNonNull(physical);
        return this;
    }

    /**
     * Reads up to {@code readers} streamed entries at once, each cut into chunks on its own thread, for entries that
     * can be opened while others are still being read (files of a directory, not the members of one tar stream). The
     * manifest lists the files in the order they were taken from the iterator. One by default.
     */
    public SnapshotWriter readers(int readers) {
        if (readers < 1) {
            throw new IllegalArgumentException("readers must be at least 1");
        }
        this.readers = readers;
        return this;
    }

    public WriteResult write(Path directory, BackupType requested, ChainContext context) throws IOException {
        return write(directory, requested, context, null);
    }

    /** As {@link #write(Path, BackupType, ChainContext)}, recording {@code tables} (may be null) sealed in the manifest. */
    public WriteResult write(Path directory, BackupType requested, ChainContext context, TableFingerprints tables)
            throws IOException {
        if (!Files.isDirectory(directory)) {
            throw new IOException("not a directory: " + directory);
        }
        List<Entry> entries = new ArrayList<>();
        for (Path file : listFiles(directory)) {
            entries.add(new Entry(relative(directory, file), () -> Files.newInputStream(file)));
        }
        return write(entries.iterator(), requested, context, tables);
    }

    /** A file of a backup: its path in the manifest and where its bytes come from, opened once, when its turn comes. */
    public record Entry(String path, StreamSource content) {
    }

    @FunctionalInterface
    public interface StreamSource {
        InputStream open() throws IOException;
    }

    /**
     * Backs up {@code entries} in the order given, each read to its end as it comes, so that a producer still
     * running (a tool writing to a pipe) is consumed while it writes: nothing is spooled to disk first. Paths must be
     * distinct; memory stays bounded as for a directory.
     */
    public WriteResult write(java.util.Iterator<Entry> entries, BackupType requested, ChainContext context,
                             TableFingerprints tables) throws IOException {
        return writeStreamed(entries, requested, context, () -> tables);
    }

    /**
     * As {@link #write(java.util.Iterator, BackupType, ChainContext, TableFingerprints)}, with the table fingerprints
     * asked for once every entry has been read, just before the manifest: they may be computed while the entries
     * are produced (an exception from {@code tables} leaves no manifest).
     */
    public WriteResult writeStreamed(java.util.Iterator<Entry> entries, BackupType requested, ChainContext context,
                                     java.util.function.Supplier<TableFingerprints> fingerprints)
            throws IOException {
        long started = System.nanoTime();
        Optional<Manifest> existing = foreignChecked ? Optional.empty() : repo.findManifest(context, requested);
        if (existing.isPresent()) {
            // in any chain: a FULL written again would start a second chain for one backup
            throw new IllegalStateException("backup " + context.backupId() + " already exists in chain "
                    + existing.get().chainId());
        }
        Plan plan = plan(requested, context);

        Upload upload = new Upload(plan, context.backupId());
        List<Manifest.FileEntry> files = new ArrayList<>();
        try {
            List<FileRead> read = readers == 1 ? readInTurn(entries, upload) : readAtOnce(entries, upload);
            for (FileRead file : read) {
                List<Manifest.ChunkRef> refs = new ArrayList<>();
                for (Future<Manifest.ChunkRef> f : file.chunks()) {
                    refs.add(f.get());
                }
                files.add(new Manifest.FileEntry(file.path(), file.size(), refs));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing backup " + context.backupId(), e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException("backup " + context.backupId() + " failed: " + cause, cause);
        } finally {
            upload.pool.shutdownNow();
        }

        TableFingerprints tables = fingerprints.get();
        Instant now = repo.clock().instant();
        Manifest.Stats stats = new Manifest.Stats(upload.bytesRead.get(), upload.bytesUploaded.get(),
                files.stream().mapToLong(f -> f.chunks().size()).sum(), upload.chunksUploaded.get());
        Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, context.backupId(), plan.chainId(), plan.type(),
                plan.parentBackupId(), now, files, stats,
                tables == null ? null : repo.sealTables(plan.chainId(), context.backupId(), tables), physical.get());
        byte[] stored = Json.write(manifest);
        if (stored.length > repo.maxManifestBytes()) {
            // the estimate is a lower bound: what the references did not show (paths, sizes) can still pass the cap
            throw tooLarge(context.backupId(), "needs a manifest of " + stored.length + " bytes ("
                    + stats.chunksTotal() + " chunk references)");
        }
        beforeManifest.run();
        String manifestKey = repo.layout().manifest(plan.chainId(), context.backupId());
        String sha256 = Sha256.of(stored);
        recorder.writing(manifestKey, plan.chainId(), sha256);
        if (plan.type() == BackupType.FULL) {
            repo.store().put(repo.bucket(), repo.layout().chainMarker(plan.chainId()),
                    ("{\"chainId\":\"" + plan.chainId() + "\",\"createdAt\":\"" + now + "\"}")
                            .getBytes(StandardCharsets.UTF_8));
        }
        repo.store().put(repo.bucket(), manifestKey, stored);
        boolean promoted = requested != BackupType.FULL && plan.type() == BackupType.FULL;
        LOG.infof("backup %s (%s%s) sealed in chain %s: %d bytes read, %d bytes uploaded in %d of %d chunks",
                context.backupId(), plan.type(), promoted ? ", promoted from " + requested : "", plan.chainId(),
                stats.bytesRead(), stats.bytesUploaded(), stats.chunksUploaded(), stats.chunksTotal());
        return new WriteResult(manifest, requested, promoted, (System.nanoTime() - started) / 1_000_000, sha256);
    }

    private ManifestTooLargeException tooLarge(String backupId, String what) {
        // no reader with this cap would read the manifest: a backup that could be neither sealed nor restored
        return new ManifestTooLargeException("backup " + backupId + " " + what + ", over the "
                + repo.maxManifestBytes() + " bytes a manifest of repository " + repo.location() + " may have ("
                + Repository.MAX_MANIFEST_SETTING + "); nothing was kept as a backup. Raise "
                + Repository.MAX_MANIFEST_SETTING + " on snapshot-worker and on storage-worker (every service that "
                + "reads backups needs the same cap), then take the backup again");
    }

    private static long measureReference() {
        String id = "0".repeat(64);
        Manifest.Stats stats = new Manifest.Stats(0, 0, 0, 0);
        Instant at = Instant.EPOCH;
        Manifest one = new Manifest(Manifest.FORMAT_VERSION, "b", "c", BackupType.FULL, null, at,
                List.of(new Manifest.FileEntry("f", 0, List.of(new Manifest.ChunkRef(id, 1, 1)))), stats);
        Manifest two = new Manifest(Manifest.FORMAT_VERSION, "b", "c", BackupType.FULL, null, at,
                List.of(new Manifest.FileEntry("f", 0, List.of(new Manifest.ChunkRef(id, 1, 1),
                        new Manifest.ChunkRef(id, 1, 1)))), stats);
        // one digit of the plaintext size is in the measure; the others are added per chunk
        return Json.write(two).length - Json.write(one).length - 1;
    }

    /** A file cut into chunks, its chunks possibly still being stored. */
    private record FileRead(String path, long size, List<Future<Manifest.ChunkRef>> chunks) {
    }

    private FileRead read(Entry entry, Upload upload) throws IOException, InterruptedException {
        List<Future<Manifest.ChunkRef>> refs = new ArrayList<>();
        long size = 0;
        try (InputStream in = entry.content().open()) {
            Chunker chunker = new Chunker(in, sizes);
            for (Slot slot; (slot = upload.next(chunker)) != null; ) {
                if (upload.failure.get() instanceof RuntimeException failed) {
                    upload.release(slot);
                    throw failed; // a chunk could not be stored: reading on would only delay saying so
                }
                size += slot.length;
                try {
                    upload.reference(slot.length);
                } catch (ManifestTooLargeException e) {
                    upload.release(slot);
                    throw e;
                }
                refs.add(upload.submit(slot));
            }
        }
        return new FileRead(entry.path(), size, refs);
    }

    private List<FileRead> readInTurn(java.util.Iterator<Entry> entries, Upload upload)
            throws IOException, InterruptedException {
        List<FileRead> read = new ArrayList<>();
        while (entries.hasNext()) {
            read.add(read(entries.next(), upload));
        }
        return read;
    }

    /**
     * {@code readers} threads take the next entry from the iterator (one at a time) and read it; the first failure
     * stops the others (interrupted) and is thrown.
     */
    private List<FileRead> readAtOnce(java.util.Iterator<Entry> entries, Upload upload)
            throws IOException, InterruptedException {
        List<FileRead> read = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(readers, r -> {
            Thread t = new Thread(r, "snapshot-read");
            t.setDaemon(true);
            return t;
        });
        try {
            java.util.concurrent.CompletionService<Void> running =
                    new java.util.concurrent.ExecutorCompletionService<>(pool);
            Object turn = new Object();
            for (int i = 0; i < readers; i++) {
                running.submit(() -> {
                    while (true) {
                        Entry entry;
                        int index;
                        synchronized (turn) {
                            if (!entries.hasNext()) {
                                return null;
                            }
                            entry = entries.next();
                            synchronized (read) {
                                index = read.size();
                                read.add(null);
                            }
                        }
                        FileRead file = read(entry, upload);
                        synchronized (read) {
                            read.set(index, file);
                        }
                    }
                });
            }
            for (int i = 0; i < readers; i++) {
                try {
                    running.take().get();
                } catch (ExecutionException e) {
                    pool.shutdownNow();
                    Throwable cause = e.getCause();
                    if (cause instanceof IOException io) {
                        throw io;
                    }
                    if (cause instanceof RuntimeException r) {
                        throw r;
                    }
                    throw new IOException(cause.toString(), cause);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        synchronized (read) {
            return List.copyOf(read);
        }
    }

    private Plan plan(BackupType requested, ChainContext context) {
        if (requested != BackupType.FULL) {
            Optional<Manifest> found = context.chainId().isPresent()
                    ? repo.full(context.chainId().get())
                    : repo.latestFull();
            if (found.isPresent()) {
                Manifest full = found.get();
                String chainId = full.chainId();
                if (requested == BackupType.DIFFERENTIAL) {
                    return new Plan(requested, chainId, full.backupId(), held(List.of(full)));
                }
                List<Manifest> chain = repo.manifests(chainId);
                return new Plan(requested, chainId, chain.getLast().backupId(), held(chain));
            }
        }
        return new Plan(BackupType.FULL, newChainId(), null, Map.of());
    }

    private static Map<String, Manifest.ChunkRef> held(List<Manifest> manifests) {
        Map<String, Manifest.ChunkRef> held = new HashMap<>();
        for (Manifest m : manifests) {
            for (Manifest.FileEntry f : m.files()) {
                for (Manifest.ChunkRef c : f.chunks()) {
                    held.putIfAbsent(c.id(), c);
                }
            }
        }
        return held;
    }

    /**
     * When a chain was started, read from its id ({@code yyyyMMddTHHmmss.SSSSSSZ-<random>}); empty for an id in
     * another shape. The chain exists (its chunks are being uploaded) from this instant, long before its marker and
     * its FULL manifest.
     */
    public static Optional<Instant> chainCreatedAt(String chainId) {
        int dash = chainId.indexOf('-');
        if (dash < 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(Instant.from(CHAIN_TIME.parse(chainId.substring(0, dash))));
        } catch (java.time.DateTimeException e) {
            return Optional.empty();
        }
    }

    private String newChainId() {
        byte[] r = new byte[4];
        ThreadLocalRandom.current().nextBytes(r);
        return CHAIN_TIME.format(repo.clock().instant()) + "-" + HexFormat.of().formatHex(r);
    }

    private static List<Path> listFiles(Path directory) throws IOException {
        try (Stream<Path> s = Files.walk(directory)) {
            return s.filter(Files::isRegularFile).sorted((a, b) -> relative(directory, a).compareTo(relative(directory, b)))
                    .toList();
        }
    }

    private static String relative(Path directory, Path file) {
        return directory.relativize(file).toString().replace('\\', '/');
    }

    /**
     * A chunk in flight: the array it was read into and its length there, and the array it is compressed into. Both
     * grow as the chunks need, by powers of two up to the largest chunk's size, so a slot grows a few times and then
     * stays, and a small backup's slots stay small.
     */
    private static final class Slot {
        byte[] chunk = new byte[0];
        byte[] scratch = new byte[0];
        int length;

        /** Takes the chunk the chunker measured ({@code length} bytes), into a larger array first when it does not fit. */
        void take(Chunker chunker, int length, int maxChunk) throws IOException {
            if (chunk.length < length) {
                chunk = new byte[Math.max(length, Math.min(maxChunk, Integer.highestOneBit(length) << 1))];
            }
            this.length = chunker.take(chunk);
        }

        /** Room to compress the chunk in, made larger when it has too little. */
        byte[] scratch() {
            if (scratch.length < ContentCodec.scratchLength(length)) {
                scratch = new byte[ContentCodec.scratchLength(chunk.length)];
            }
            return scratch;
        }
    }

    /** The parallel part: hash, skip if held, else encode and upload once. */
    private final class Upload {
        final Plan plan;
        final ExecutorService pool;
        final Semaphore inFlight = new Semaphore(2 * parallelism);
        /** Slots of chunks stored, for the next ones; at most as many were made as chunks may be in flight. */
        final java.util.Queue<Slot> free = new java.util.concurrent.ConcurrentLinkedQueue<>();
        final Map<String, CompletableFuture<Manifest.ChunkRef>> thisBackup = new ConcurrentHashMap<>();
        final AtomicLong bytesRead = new AtomicLong();
        final AtomicLong bytesUploaded = new AtomicLong();
        final AtomicLong chunksUploaded = new AtomicLong();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final String backupId;
        /** The least the manifest will take for the references cut so far. */
        final AtomicLong manifestBytes = new AtomicLong();
        final AtomicLong references = new AtomicLong();

        Upload(Plan plan, String backupId) {
            this.plan = plan;
            this.backupId = backupId;
            this.pool = Executors.newFixedThreadPool(parallelism, r -> {
                Thread t = new Thread(r, "snapshot-upload");
                t.setDaemon(true);
                return t;
            });
        }

        /**
         * The stream's next chunk in a slot of its own, or null at the end of the stream. The chunk is read ahead
         * first (into the chunker's buffer), then a slot is waited for while {@code 2 * parallelism} chunks are in
         * flight: a reader waiting for its producer holds no slot the uploads could use.
         */
        Slot next(Chunker chunker) throws IOException, InterruptedException {
            int length = chunker.peek();
            if (length == 0) {
                return null;
            }
            inFlight.acquire();
            Slot slot = free.poll();
            if (slot == null) {
                slot = new Slot();
            }
            boolean taken = false;
            try {
                slot.take(chunker, length, sizes.max());
                taken = true;
            } finally {
                if (!taken) {
                    release(slot);
                }
            }
            return slot;
        }

        /** Counts a reference to a chunk of {@code length} bytes; {@link ManifestTooLargeException} past the cap. */
        void reference(int length) {
            long least = manifestBytes.addAndGet(REFERENCE_BYTES + Integer.toString(length).length());
            long count = references.incrementAndGet();
            if (least > repo.maxManifestBytes()) {
                throw tooLarge(backupId, "would need a manifest of over " + least + " bytes: its first " + count
                        + " chunk references alone (" + bytesRead.get() + " bytes read) take that much, and more "
                        + "are coming; stopped before reading on");
            }
        }

        void release(Slot slot) {
            free.add(slot);
            inFlight.release();
        }

        Future<Manifest.ChunkRef> submit(Slot slot) {
            Throwable failed = failure.get();
            if (failed != null) {
                release(slot);
                return CompletableFuture.failedFuture(failed);
            }
            bytesRead.addAndGet(slot.length);
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return store(slot);
                } catch (RuntimeException e) {
                    failure.compareAndSet(null, e);
                    throw e;
                } finally {
                    release(slot);
                }
            }, pool);
        }

        private Manifest.ChunkRef store(Slot slot) {
            String id = repo.codec().id(slot.chunk, slot.length);
            Manifest.ChunkRef held = plan.held().get(id);
            if (held != null) {
                return held;
            }
            CompletableFuture<Manifest.ChunkRef> mine = new CompletableFuture<>();
            CompletableFuture<Manifest.ChunkRef> other = thisBackup.putIfAbsent(id, mine);
            if (other != null) {
                return other.join();
            }
            try {
                EncodedChunk encoded = repo.codec().encode(id, slot.chunk, slot.length, slot.scratch());
                repo.store().put(repo.bucket(), repo.layout().chunk(plan.chainId(), id), encoded.stored());
                bytesUploaded.addAndGet(encoded.stored().length);
                chunksUploaded.incrementAndGet();
                Manifest.ChunkRef ref = new Manifest.ChunkRef(id, slot.length, encoded.stored().length);
                mine.complete(ref);
                return ref;
            } catch (RuntimeException | Error e) {
                // a task waiting for the same chunk's upload (join) must learn of the failure, whatever it is
                mine.completeExceptionally(e);
                throw e;
            }
        }
    }
}
