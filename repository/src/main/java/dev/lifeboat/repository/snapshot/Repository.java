package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.ObjectNotFoundException;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.ObjectTooLargeException;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.content.ContentCodec;
import dev.lifeboat.repository.keys.KeyFile;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.keys.RepositoryKeys;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A backup repository in {@code bucket} under {@code prefix} of an {@link ObjectStore}: the entry point of the
 * format. Open it with the master key, then write backups ({@link #writer()}), restore them ({@link #reader()}) and
 * verify them ({@link #verifier()}). Thread-safe; one instance can serve many backups at once.
 */
public final class Repository {
    static final int DEFAULT_PARALLELISM = 4;
    /** Chains asked at once for a backup's manifest ({@link #findManifest}). */
    static final int FIND_IN_FLIGHT = 8;
    /**
     * The largest manifest (and garbage-collection record of a chain) read by default: such an object is read whole
     * into memory, and anyone who can write to the bucket could otherwise make every reader allocate without limit. A
     * chunk reference takes about 150 bytes of JSON, so 256 MiB lists some 1.8 million chunks: about 0.9 TiB at the
     * average chunk size of 512 KiB. A repository opened with another cap ({@link #withMaxManifestBytes}) reads and
     * writes up to that one; a writer refuses a larger manifest as soon as its chunks show it would be
     * ({@link SnapshotWriter}). The services set it with {@code lifeboat.repository.max-manifest-bytes}.
     */
    public static final long MAX_MANIFEST_BYTES = 256L * 1024 * 1024;
    /** The setting of the services that gives {@link #withMaxManifestBytes}, named in the errors a cap causes. */
    public static final String MAX_MANIFEST_SETTING = "lifeboat.repository.max-manifest-bytes";
    /** The largest small record read: the key file, a chain marker. */
    public static final long MAX_RECORD_BYTES = 64L * 1024;

    private final ObjectStore store;
    private final String bucket;
    private final Layout layout;
    private final ContentCodec codec;
    private final Clock clock;
    private final long maxManifestBytes;

    private Repository(ObjectStore store, String bucket, Layout layout, RepositoryKeys keys, Clock clock) {
        this(store, bucket, layout, new ContentCodec(keys.dataKey(), keys.idKey()), clock, MAX_MANIFEST_BYTES);
    }

    private Repository(ObjectStore store, String bucket, Layout layout, ContentCodec codec, Clock clock,
                       long maxManifestBytes) {
        this.store = store;
        this.bucket = bucket;
        this.layout = layout;
        this.codec = codec;
        this.clock = clock;
        this.maxManifestBytes = maxManifestBytes;
    }

    /**
     * This repository with manifests (and chains' garbage-collection records) of up to {@code maxBytes} read and
     * written, instead of {@link #MAX_MANIFEST_BYTES}: what a source too large for the default cap needs, on every
     * service that reads its backups.
     */
    public Repository withMaxManifestBytes(long maxBytes) {
        if (maxBytes < 1024 || maxBytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(MAX_MANIFEST_SETTING + " must be between 1024 and "
                    + (Integer.MAX_VALUE - 8) + " bytes (a manifest is read into one array), not " + maxBytes);
        }
        return maxBytes == maxManifestBytes ? this
                : new Repository(store, bucket, layout, codec, clock, maxBytes);
    }

    /** The largest manifest this repository reads or writes ({@link #withMaxManifestBytes}). */
    public long maxManifestBytes() {
        return maxManifestBytes;
    }

    /** Opens an existing repository; {@link dev.lifeboat.repository.keys.WrongKeyException} if the key does not fit. */
    public static Repository open(ObjectStore store, String bucket, String prefix, MasterKey masterKey) {
        Layout layout = new Layout(prefix);
        KeyFile file = readKeyFile(store, bucket, layout).orElseThrow(() -> new IllegalStateException(
                "no repository at " + location(bucket, layout) + " (no " + layout.keyFile() + "); initialize it first"));
        return new Repository(store, bucket, layout, file.unwrap(masterKey, location(bucket, layout)), Clock.systemUTC());
    }

    /** Creates a repository with a fresh random key set wrapped by {@code masterKey}; fails if one exists. */
    public static Repository init(ObjectStore store, String bucket, String prefix, MasterKey masterKey) {
        Layout layout = new Layout(prefix);
        store.ensureBucket(bucket);
        if (!create(store, bucket, layout, masterKey)) {
            throw new IllegalStateException("a repository already exists at " + location(bucket, layout));
        }
        return open(store, bucket, prefix, masterKey);
    }

    /**
     * What a worker calls: opens the repository, creating it on first use. Two workers creating it at once both end
     * up with the key set that was written first: the key file is created only if absent, and the one that loses
     * reads the winner's, so no chunk is ever encrypted with a key set the repository does not keep.
     */
    public static Repository openOrInit(ObjectStore store, String bucket, String prefix, MasterKey masterKey) {
        Layout layout = new Layout(prefix);
        if (readKeyFile(store, bucket, layout).isEmpty()) {
            store.ensureBucket(bucket);
            create(store, bucket, layout, masterKey);
        }
        return open(store, bucket, prefix, masterKey);
    }

    /**
     * Writes a fresh key file unless one exists; true when this call created the repository. A create whose answer
     * was lost and was repeated (by the store client or a retry) is refused as existing, so the key file found is
     * compared with the one written.
     */
    private static boolean create(ObjectStore store, String bucket, Layout layout, MasterKey masterKey) {
        Instant now = Instant.now();
        byte[] keyFile = Json.write(KeyFile.wrap(RepositoryKeys.generate(), masterKey, now, now));
        if (store.putIfAbsent(bucket, layout.keyFile(), keyFile)) {
            return true;
        }
        try {
            return java.util.Arrays.equals(readAll(store, bucket, layout.keyFile(), MAX_RECORD_BYTES, "key file"),
                    keyFile);
        } catch (ObjectNotFoundException e) {
            return false;
        }
    }

    private static Optional<KeyFile> readKeyFile(ObjectStore store, String bucket, Layout layout) {
        if (store.size(bucket, layout.keyFile()).isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(Json.read(readAll(store, bucket, layout.keyFile(), MAX_RECORD_BYTES, "key file"),
                KeyFile.class, layout.keyFile()));
    }

    /**
     * The whole object {@code key}, at most {@code maxBytes} long: a larger one is refused
     * ({@link ObjectTooLargeException} naming {@code what}, the object and the limit) from the length its read
     * announces, before its content is read, and a store that announced less is not read past the limit either.
     * {@link ObjectNotFoundException} when it does not exist.
     */
    public static byte[] readAll(ObjectStore store, String bucket, String key, long maxBytes, String what) {
        ObjectStore.Sized object = store.openSized(bucket, key);
        try (InputStream in = object.content()) {
            if (object.length() > maxBytes) {
                throw new ObjectTooLargeException(bucket, key, what, object.length(), maxBytes);
            }
            byte[] content = in.readNBytes(Math.toIntExact(maxBytes + 1));
            if (content.length > maxBytes) {
                throw new ObjectTooLargeException(bucket, key, what, -1, maxBytes);
            }
            return content;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + what + " " + bucket + "/" + key, e);
        }
    }

    private static String location(String bucket, Layout layout) {
        return bucket + "/" + layout.prefix();
    }

    /**
     * Re-wraps the repository key set with {@code next}. Chunks and manifests are untouched: they are encrypted with
     * the key set, which does not change. {@code current} must open the repository.
     */
    public void rotateMasterKey(MasterKey current, MasterKey next) {
        KeyFile file = readKeyFile(store, bucket, layout).orElseThrow(() ->
                new IllegalStateException("key file of " + location() + " disappeared"));
        RepositoryKeys keys = file.unwrap(current, location());
        store.put(bucket, layout.keyFile(), Json.write(KeyFile.wrap(keys, next, file.createdAt(), clock.instant())));
    }

    /** The id of the master key that currently wraps the key set. */
    public String masterKeyId() {
        return readKeyFile(store, bucket, layout).map(KeyFile::masterKeyId).orElseThrow();
    }

    public SnapshotWriter writer() {
        return new SnapshotWriter(this, DEFAULT_PARALLELISM, Chunker.Sizes.DEFAULT);
    }

    public SnapshotWriter writer(Chunker.Sizes sizes) {
        return new SnapshotWriter(this, DEFAULT_PARALLELISM, sizes);
    }

    public SnapshotWriter writer(int parallelism, Chunker.Sizes sizes) {
        return new SnapshotWriter(this, parallelism, sizes);
    }

    public SnapshotReader reader() {
        return new SnapshotReader(this, DEFAULT_PARALLELISM);
    }

    /** A reader with {@code parallelism} chunks in flight. */
    public SnapshotReader reader(int parallelism) {
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism must be at least 1");
        }
        return new SnapshotReader(this, parallelism);
    }

    /** This repository's archived WAL (physical sources), with PostgreSQL's default 16 MiB segments. */
    public dev.lifeboat.repository.wal.WalArchive wal() {
        return wal(dev.lifeboat.repository.wal.WalNames.DEFAULT_SEGMENT_SIZE);
    }

    public dev.lifeboat.repository.wal.WalArchive wal(int segmentSize) {
        return new dev.lifeboat.repository.wal.WalArchive(store, bucket, layout.prefix(), codec, segmentSize);
    }

    public Verifier verifier() {
        return new Verifier(this, 2 * DEFAULT_PARALLELISM);
    }

    /**
     * Garbage collection of unreferenced chunks and empty chains; see {@link GarbageCollector} for why it is safe
     * against backups in flight as long as {@code settings.grace()} is longer than any backup.
     */
    public GarbageCollector garbageCollector(GarbageCollector.Settings settings) {
        return new GarbageCollector(this, settings, clock);
    }

    /**
     * Retention of the archived WAL: deletes what no physical base backup of this repository needs, never WAL younger
     * than {@code minAge}; see {@link dev.lifeboat.repository.wal.WalCollector}.
     */
    public dev.lifeboat.repository.wal.WalCollector walCollector(java.time.Duration minAge) {
        return new dev.lifeboat.repository.wal.WalCollector(this, minAge, clock);
    }

    /** Chain ids, oldest first (chain ids sort by creation time). */
    public List<String> chains() {
        String index = layout.chainIndex();
        return store.list(bucket, index).stream().map(k -> k.substring(index.length())).filter(s -> !s.contains("/"))
                .sorted().toList();
    }

    String sealTables(String chainId, String backupId, TableFingerprints tables) {
        byte[] sealed = codec.seal(tablesContext(chainId, backupId), Json.write(tables));
        return java.util.Base64.getEncoder().encodeToString(sealed);
    }

    /**
     * The table fingerprints the backup recorded, empty when it recorded none; {@link SecurityException} when the
     * sealed record was altered or copied from another backup.
     */
    public Optional<TableFingerprints> tableFingerprints(Manifest manifest) {
        if (manifest.sealedTables() == null) {
            return Optional.empty();
        }
        String context = tablesContext(manifest.chainId(), manifest.backupId());
        byte[] sealed;
        try {
            sealed = java.util.Base64.getDecoder().decode(manifest.sealedTables());
        } catch (IllegalArgumentException e) {
            throw new SecurityException("sealed record " + context + " is not base64");
        }
        return Optional.of(Json.read(codec.open(context, sealed), TableFingerprints.class, context));
    }

    // not the prefix: an offsite copy (same key set, another prefix) must open it too
    private static String tablesContext(String chainId, String backupId) {
        return "tables/" + chainId + "/" + backupId;
    }

    /**
     * The manifest object at {@code key} up to this repository's cap; one over it is refused naming the setting that
     * raises the cap. Being large says nothing about a manifest's integrity: callers must not take it for damage.
     */
    private byte[] readManifest(String key) {
        try {
            return readAll(store, bucket, key, maxManifestBytes, "manifest");
        } catch (ObjectTooLargeException e) {
            throw new ObjectTooLargeException(e, "the manifest cap is " + MAX_MANIFEST_SETTING + " (on every service "
                    + "that reads the backup); raise it to read this manifest, which says nothing about whether it is "
                    + "intact");
        }
    }

    /** The manifests of a chain as the bucket holds them, oldest first; see {@link #manifests(String, Map)}. */
    public List<Manifest> manifests(String chainId) {
        return manifests(chainId, Map.of());
    }

    /** A manifest as listed: the object key, the backup id its name gives, and what it holds. */
    public record ListedManifest(String key, String backupId, Manifest manifest) {
    }

    /**
     * The manifests of a chain, oldest first, each sealed backup's ({@code seals}: backup id to its chain and the
     * SHA-256 its manifest was sealed with) read only as sealed ({@link #sealedManifest}), the others as the bucket
     * holds them. {@link SealedManifestRefusedException} names the first sealed backup whose manifest is not there as
     * sealed: one not the one sealed, unreadable now, or named after a backup sealed in another chain; and one sealed
     * in this chain that is not listed here or is gone by the time it is read ({@code missing}). What the chain's
     * manifests reference is then not known.
     */
    public List<Manifest> manifests(String chainId, Map<String, SealedManifests.Seal> seals) {
        return listManifests(chainId, seals).stream().map(ListedManifest::manifest).toList();
    }

    /** {@link #manifests(String, Map)} with the key each manifest was listed under. */
    public List<ListedManifest> listManifests(String chainId, Map<String, SealedManifests.Seal> seals) {
        Set<String> unseen = new TreeSet<>();
        seals.forEach((backupId, seal) -> {
            if (chainId.equals(seal.chainId())) {
                unseen.add(backupId);
            }
        });
        List<ListedManifest> out = new ArrayList<>();
        String root = layout.manifests(chainId);
        for (String key : store.list(bucket, root)) {
            if (!key.endsWith(".json")) {
                continue;
            }
            String backupId = key.substring(root.length(), key.length() - ".json".length());
            SealedManifests.Seal seal = seals.get(backupId);
            if (seal != null) {
                if (!chainId.equals(seal.chainId())) {
                    throw new SealedManifestRefusedException(backupId, chainId,
                            SealedManifestRefusedException.Reason.MISMATCH, "s3://" + bucket + "/" + key
                            + " is named after a backup sealed in chain " + seal.chainId() + ", not in this one: it "
                            + "is not that backup's manifest, and what it stands for here is not known");
                }
                // gone between listing and reading: it stays unseen, and is refused as missing below
                sealedForCollection(chainId, backupId, seal.sha256()).ifPresent(sealed -> {
                    unseen.remove(backupId);
                    out.add(new ListedManifest(key, backupId, sealed));
                });
                continue;
            }
            try {
                out.add(new ListedManifest(key, backupId, Json.read(readManifest(key), Manifest.class, key)));
            } catch (ObjectNotFoundException e) {
                // expired between list and read
            }
        }
        if (!unseen.isEmpty()) {
            String backupId = unseen.iterator().next();
            throw new SealedManifestRefusedException(backupId, chainId, SealedManifestRefusedException.Reason.MISSING,
                    "s3://" + bucket + "/" + layout.manifest(chainId, backupId) + " is not in the bucket, and the "
                            + "backup is not recorded as deleted");
        }
        out.sort(Comparator.comparing((ListedManifest l) -> l.manifest().createdAt())
                .thenComparing(l -> l.manifest().backupId()));
        return out;
    }

    private Optional<Manifest> sealedForCollection(String chainId, String backupId, String sha256) {
        try {
            // empty when it expired between list and read
            return sealedManifest(chainId, backupId, sha256);
        } catch (ManifestMismatchException e) {
            throw new SealedManifestRefusedException(backupId, chainId, SealedManifestRefusedException.Reason.MISMATCH,
                    e);
        } catch (ObjectTooLargeException e) {
            throw new SealedManifestRefusedException(backupId, chainId,
                    SealedManifestRefusedException.Reason.TOO_LARGE, e);
        } catch (RuntimeException e) {
            throw new SealedManifestRefusedException(backupId, chainId,
                    SealedManifestRefusedException.Reason.UNREADABLE, e);
        }
    }

    public Optional<Manifest> manifest(String chainId, String backupId) {
        String key = layout.manifest(chainId, backupId);
        try {
            // one GET, which says when there is none: no HEAD first
            return Optional.of(Json.read(readManifest(key), Manifest.class, key));
        } catch (ObjectNotFoundException e) {
            return Optional.empty();
        }
    }

    /**
     * The manifest of {@code backupId} in {@code chainId} as it was sealed, or empty when there is none: the bytes
     * parsed must have SHA-256 {@code sealedSha256} (the hash storage-worker checked when it sealed the backup) and
     * describe that backup of that chain, else {@link ManifestMismatchException} says which. The bucket is not
     * trusted: this is what keeps a manifest overwritten there (an older one of the same source, one of another
     * chain) from being restored in its place.
     */
    public Optional<Manifest> sealedManifest(String chainId, String backupId, String sealedSha256) {
        String key = layout.manifest(chainId, backupId);
        String where = "s3://" + bucket + "/" + key;
        if (sealedSha256 == null || sealedSha256.isBlank()) {
            throw new ManifestMismatchException("manifest " + where + " has no sealed SHA-256 to be checked against");
        }
        byte[] stored;
        try {
            stored = readManifest(key);
        } catch (ObjectNotFoundException e) {
            return Optional.empty();
        }
        String sha = dev.lifeboat.repository.blob.Sha256.of(stored);
        if (!sha.equalsIgnoreCase(sealedSha256)) {
            throw new ManifestMismatchException("manifest " + where + " is not the one sealed: its SHA-256 is " + sha
                    + ", sealed " + sealedSha256.toLowerCase(java.util.Locale.ROOT) + " (replaced or altered in the "
                    + "bucket after sealing)");
        }
        Manifest manifest = Manifest.parse(stored, where);
        if (!backupId.equals(manifest.backupId()) || !chainId.equals(manifest.chainId())) {
            throw new ManifestMismatchException("manifest " + where + " describes backup " + manifest.backupId()
                    + " of chain " + manifest.chainId() + ", not backup " + backupId + " of chain " + chainId);
        }
        return Optional.of(manifest);
    }

    /**
     * The manifest of {@code backupId} in whichever chain holds it, or empty. A backup id names at most one backup of
     * a repository: a writer that finds it here announces that backup instead of writing it again. Every backup asks
     * this before it starts, and a repository may hold many chains (one per FULL), so the chains are asked newest
     * first (where a backup written before is) and {@link #FIND_IN_FLIGHT} at a time, not one round trip after the
     * other.
     */
    public Optional<Manifest> findManifest(String backupId) {
        return findIn(chains(), backupId);
    }

    /**
     * The manifest of the backup {@code context} names, requested as {@code requested}: a FULL whose attempts all
     * started since a known instant ({@link ChainContext#firstAttempt}) is only looked for in the chains started
     * since ({@link #findManifest(String, Instant)}), any other in every chain.
     */
    public Optional<Manifest> findManifest(ChainContext context, BackupType requested) {
        return requested == BackupType.FULL && context.firstAttempt().isPresent()
                ? findManifest(context.backupId(), context.firstAttempt().get())
                : findManifest(context.backupId());
    }

    /**
     * {@link #findManifest(String)} for a FULL no attempt of which started before {@code since}: such a FULL started
     * its chain at or after that instant, so only those chains are asked (and any whose id does not tell when it
     * was started), not every chain of the repository. {@code since} is read on another machine than the chain ids
     * were, so callers give it with a margin for clocks that disagree.
     */
    Optional<Manifest> findManifest(String backupId, Instant since) {
        return findIn(chains().stream().filter(chainId -> SnapshotWriter.chainCreatedAt(chainId)
                .map(created -> !created.isBefore(since)).orElse(true)).toList(), backupId);
    }

    private Optional<Manifest> findIn(List<String> oldestFirst, String backupId) {
        List<String> chains = oldestFirst.reversed();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int from = 0; from < chains.size(); from += FIND_IN_FLIGHT) {
                List<String> batch = chains.subList(from, Math.min(chains.size(), from + FIND_IN_FLIGHT));
                List<Future<Boolean>> held = batch.stream().map(chainId -> pool.submit(() ->
                        store.size(bucket, layout.manifest(chainId, backupId)).isPresent())).toList();
                for (int i = 0; i < batch.size(); i++) {
                    if (done(held.get(i))) {
                        Optional<Manifest> found = manifest(batch.get(i), backupId);
                        if (found.isPresent()) {
                            return found;
                        }
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static <T> T done(Future<T> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while looking for a manifest", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }

    /** The FULL manifest of a chain, if the chain has one. */
    public Optional<Manifest> full(String chainId) {
        return manifests(chainId).stream().filter(m -> m.type() == BackupType.FULL).findFirst();
    }

    /** The newest chain that has a sealed FULL, with that FULL. */
    public Optional<Manifest> latestFull() {
        List<String> chains = new ArrayList<>(chains());
        for (int i = chains.size() - 1; i >= 0; i--) {
            Optional<Manifest> full = full(chains.get(i));
            if (full.isPresent()) {
                return full;
            }
        }
        return Optional.empty();
    }

    public String location() {
        return location(bucket, layout);
    }

    public ObjectStore store() {
        return store;
    }

    public String bucket() {
        return bucket;
    }

    public Layout layout() {
        return layout;
    }

    ContentCodec codec() {
        return codec;
    }

    Clock clock() {
        return clock;
    }
}
