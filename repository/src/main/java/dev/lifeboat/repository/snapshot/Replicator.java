package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.ObjectNotFoundException;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.ObjectWriter;
import dev.lifeboat.repository.blob.Sha256;
import dev.lifeboat.repository.keys.KeyFile;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.keys.RepositoryKeys;
import dev.lifeboat.repository.keys.WrongKeyException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Copies sealed backups from one repository into another (an offsite destination), object by object, without
 * decrypting anything: the destination gets the source's key file (so the same master key opens both, and chunk
 * ids, which are keyed hashes, stay the same), then every chunk of the backup that it does not hold with the right
 * size, then the chain marker, then the manifest last, as a writer would: a copy without its manifest does not
 * exist. Chunks are streamed one by one, a few at a time, so memory stays bounded whatever the backup size.
 * Repeating a copy is safe and cheap: present chunks are skipped, the manifest is rewritten with the same bytes.
 * The copy is not verified here; run {@link Verifier#full} on the destination for that.
 */
public final class Replicator {
    private final Repository source;
    private final MasterKey masterKey;
    private final int parallelism;

    public Replicator(Repository source, MasterKey masterKey) {
        this(source, masterKey, Repository.DEFAULT_PARALLELISM);
    }

    public Replicator(Repository source, MasterKey masterKey, int parallelism) {
        this.source = source;
        this.masterKey = masterKey;
        this.parallelism = parallelism;
    }

    /**
     * Copies {@code manifest} (a sealed backup of the source) into the repository at {@code bucket}/{@code prefix}
     * of {@code store}, creating that repository with the source's key file if there is none.
     * {@link ReplicationException} when the destination holds a repository with another key set (or one this
     * master key does not open), or the source lacks a chunk; other runtime exceptions are store failures.
     */
    public ReplicationResult replicate(Manifest manifest, ObjectStore store, String bucket, String prefix) {
        Layout to = new Layout(prefix);
        if (store == source.store() && bucket.equals(source.bucket()) && to.equals(source.layout())) {
            throw new ReplicationException("the destination " + bucket + "/" + to.prefix()
                    + " is the source repository itself");
        }
        store.ensureBucket(bucket);
        boolean created = ensureKeyFile(store, bucket, to);
        Repository destination = Repository.open(store, bucket, prefix, masterKey);

        AtomicLong copied = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        var chunks = manifest.distinctChunks().keySet();
        ExecutorService pool = Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, "replicate");
            t.setDaemon(true);
            return t;
        });
        try {
            List<CompletableFuture<Void>> copies = new ArrayList<>();
            for (Manifest.ChunkRef ref : chunks) {
                copies.add(CompletableFuture.runAsync(() -> {
                    String key = to.chunk(manifest.chainId(), ref.id());
                    Optional<Long> present = store.size(bucket, key);
                    if (present.isPresent() && present.get() == ref.storedSize()) {
                        return;
                    }
                    copyChunk(manifest, ref, store, bucket, key);
                    copied.incrementAndGet();
                    bytes.addAndGet(ref.storedSize());
                }, pool));
            }
            try {
                CompletableFuture.allOf(copies.toArray(CompletableFuture[]::new)).join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw e;
            }
        } finally {
            pool.shutdownNow();
        }

        String marker = source.layout().chainMarker(manifest.chainId());
        if (store.size(bucket, to.chainMarker(manifest.chainId())).isEmpty()) {
            byte[] content = source.store().size(source.bucket(), marker).isPresent()
                    ? Repository.readAll(source.store(), source.bucket(), marker, Repository.MAX_RECORD_BYTES,
                            "chain marker")
                    : ("{\"chainId\":\"" + manifest.chainId() + "\"}").getBytes(StandardCharsets.UTF_8);
            store.put(bucket, to.chainMarker(manifest.chainId()), content);
        }

        String manifestKey = source.layout().manifest(manifest.chainId(), manifest.backupId());
        byte[] bytesOfManifest;
        try {
            bytesOfManifest = Repository.readAll(source.store(), source.bucket(), manifestKey,
                    source.maxManifestBytes(), "manifest");
        } catch (ObjectNotFoundException e) {
            throw new ReplicationException("backup " + manifest.backupId() + " has no manifest at "
                    + source.location() + " (deleted?): nothing to copy", e);
        }
        String destinationKey = to.manifest(manifest.chainId(), manifest.backupId());
        store.put(bucket, destinationKey, bytesOfManifest);
        return new ReplicationResult(destination, destinationKey, sha256(bytesOfManifest), created, chunks.size(),
                copied.get(), bytes.get());
    }

    /**
     * Gives the destination the source's key file unless it has one; an existing one must unwrap, with this master
     * key, to the very key set of the source (a rotated wrapping is fine, other keys are not).
     */
    private boolean ensureKeyFile(ObjectStore store, String bucket, Layout to) {
        byte[] sourceFile = Repository.readAll(source.store(), source.bucket(), source.layout().keyFile(),
                Repository.MAX_RECORD_BYTES, "key file");
        RepositoryKeys sourceKeys = Json.read(sourceFile, KeyFile.class, source.layout().keyFile())
                .unwrap(masterKey, source.location());
        String where = bucket + "/" + to.prefix();
        // created only if absent: a copy racing with another writer there checks the winner's key set below
        if (store.size(bucket, to.keyFile()).isEmpty() && store.putIfAbsent(bucket, to.keyFile(), sourceFile)) {
            return true;
        }
        KeyFile existing = Json.read(Repository.readAll(store, bucket, to.keyFile(), Repository.MAX_RECORD_BYTES,
                "key file"), KeyFile.class, to.keyFile());
        RepositoryKeys destinationKeys;
        try {
            destinationKeys = existing.unwrap(masterKey, where);
        } catch (WrongKeyException e) {
            throw new ReplicationException("the destination " + where + " holds another repository: "
                    + e.getMessage() + "; refusing to copy into it", e);
        }
        if (!MessageDigest.isEqual(sourceKeys.dataKey(), destinationKeys.dataKey())
                || !MessageDigest.isEqual(sourceKeys.idKey(), destinationKeys.idKey())) {
            throw new ReplicationException("the destination " + where + " holds another repository (its key set "
                    + "differs from that of " + source.location() + "); refusing to copy into it");
        }
        return false;
    }

    private void copyChunk(Manifest manifest, Manifest.ChunkRef ref, ObjectStore store, String bucket, String key) {
        String from = source.layout().chunk(manifest.chainId(), ref.id());
        try (InputStream in = source.store().open(source.bucket(), from);
             ObjectWriter out = store.create(bucket, key)) {
            long n = in.transferTo(out);
            if (n != ref.storedSize()) {
                out.abort();
                throw new ReplicationException("backup " + manifest.backupId() + ": chunk " + ref.id() + " at "
                        + source.location() + " has " + n + " bytes but the manifest says " + ref.storedSize()
                        + "; the source is damaged, run a full verification there");
            }
            out.commit();
        } catch (ObjectNotFoundException e) {
            throw new ReplicationException("backup " + manifest.backupId() + ": chunk " + ref.id() + " is missing at "
                    + source.location() + " (" + from + "); the source is damaged, run a full verification there", e);
        } catch (IOException e) {
            throw new UncheckedIOException("copying chunk " + ref.id() + " of backup " + manifest.backupId()
                    + " to " + bucket + "/" + key + " failed: " + e.getMessage(), e);
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return Sha256.of(new ByteArrayInputStream(bytes)).sha256();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
