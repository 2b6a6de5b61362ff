package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.ForwardingObjectStore;
import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.ObjectTooLargeException;
import dev.lifeboat.repository.content.ContentCodec;
import dev.lifeboat.repository.keys.MasterKey;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The bucket is not trusted: a manifest is read only as it was sealed, and no object read whole into memory (a
 * manifest, the key file, a chunk the manifest sizes) may be larger than its kind can be.
 */
class SealedManifestTest {
    static final String BUCKET = "sealed-manifest-test";

    @TempDir
    Path tmp;
    Path storeRoot;
    final AtomicLong bytesRead = new AtomicLong();
    ObjectStore store;
    Repository repo;

    @BeforeEach
    void setUp() {
        storeRoot = tmp.resolve("store");
        store = new ForwardingObjectStore(new LocalDirectoryObjectStore(storeRoot)) {
            @Override
            public InputStream open(String bucket, String key) {
                return new FilterInputStream(delegate.open(bucket, key)) {
                    @Override
                    public int read() throws IOException {
                        int b = super.read();
                        if (b >= 0) {
                            bytesRead.incrementAndGet();
                        }
                        return b;
                    }

                    @Override
                    public int read(byte[] buf, int off, int len) throws IOException {
                        int n = super.read(buf, off, len);
                        if (n > 0) {
                            bytesRead.addAndGet(n);
                        }
                        return n;
                    }
                };
            }
        };
        repo = Repository.init(store, BUCKET, "team/pg-main", MasterKey.generate());
    }

    private WriteResult backup(String backupId, long seed, BackupType type) throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src-" + backupId));
        Files.write(src.resolve("table.dat"), TestData.tableText(200_000, seed));
        return repo.writer().write(src, type, ChainContext.latestChain(backupId));
    }

    @Test
    void aManifestReplacedByAnOlderOneOfTheSameSourceIsRefusedNamingBothHashes() throws IOException {
        WriteResult older = backup("b1", 1, BackupType.FULL);
        WriteResult newer = backup("b2", 2, BackupType.INCREMENTAL);
        String chain = newer.manifest().chainId();
        assertThat(repo.sealedManifest(chain, "b2", newer.manifestSha256())).contains(newer.manifest());

        byte[] olderBytes = store.open(BUCKET, repo.layout().manifest(chain, "b1")).readAllBytes();
        store.put(BUCKET, repo.layout().manifest(chain, "b2"), olderBytes);

        assertThatThrownBy(() -> repo.sealedManifest(chain, "b2", newer.manifestSha256()))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining(repo.layout().manifest(chain, "b2"))
                .hasMessageContaining("is not the one sealed")
                .hasMessageContaining(older.manifestSha256())
                .hasMessageContaining(newer.manifestSha256());
        // with the older one's own hash, it still names another backup than the one asked for
        assertThatThrownBy(() -> repo.sealedManifest(chain, "b2", older.manifestSha256()))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining("describes backup b1 of chain " + chain + ", not backup b2");
    }

    @Test
    void anOversizeManifestIsRefusedWithoutReadingIt() throws IOException {
        WriteResult w = backup("b1", 1, BackupType.FULL);
        String key = repo.layout().manifest(w.manifest().chainId(), "b1");
        // sparse: a 1 GiB object that takes no disk, and that a whole read would try to hold in memory
        try (RandomAccessFile f = new RandomAccessFile(storeRoot.resolve(BUCKET).resolve(key).toFile(), "rw")) {
            f.setLength(1L << 30);
        }
        bytesRead.set(0);

        assertThatThrownBy(() -> repo.sealedManifest(w.manifest().chainId(), "b1", w.manifestSha256()))
                .isInstanceOf(ObjectTooLargeException.class)
                .hasMessageContaining("manifest s3://" + BUCKET + "/" + key + " is " + (1L << 30) + " bytes")
                .hasMessageContaining("over the " + Repository.MAX_MANIFEST_BYTES + " bytes");
        assertThatThrownBy(() -> repo.manifest(w.manifest().chainId(), "b1"))
                .isInstanceOf(ObjectTooLargeException.class);
        assertThat(bytesRead).hasValue(0);
    }

    @Test
    void anOversizeKeyFileIsRefusedWithoutReadingIt() throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(storeRoot.resolve(BUCKET).resolve(repo.layout().keyFile())
                .toFile(), "rw")) {
            f.setLength(1L << 30);
        }
        bytesRead.set(0);
        assertThatThrownBy(() -> Repository.open(store, BUCKET, "team/pg-main", MasterKey.generate()))
                .isInstanceOf(ObjectTooLargeException.class)
                .hasMessageContaining("key file");
        assertThat(bytesRead).hasValue(0);
    }

    @Test
    void aChunkSizedBeyondWhatTheCodecWritesIsRefusedBeforeItIsRead() throws IOException {
        WriteResult w = backup("b1", 1, BackupType.FULL);
        Manifest m = w.manifest();
        Manifest.FileEntry file = m.files().getFirst();
        Manifest.ChunkRef first = file.chunks().getFirst();
        // what a manifest written by someone without the keys may say: a chunk of nearly 2 GB
        Manifest.ChunkRef inflated = new Manifest.ChunkRef(first.id(), first.size(), Integer.MAX_VALUE - 8);
        Manifest forged = new Manifest(m.formatVersion(), m.backupId(), m.chainId(), m.type(), m.parentBackupId(),
                m.createdAt(), List.of(new Manifest.FileEntry(file.path(), file.size(), List.of(inflated))),
                m.stats(), m.sealedTables(), m.physical());
        bytesRead.set(0);

        assertThatThrownBy(() -> repo.reader().restore(forged, tmp.resolve("restored")))
                .hasStackTraceContaining("over the " + ContentCodec.MAX_STORED + " bytes a chunk can have");
        assertThat(bytesRead).hasValue(0);
        assertThat(repo.verifier().quick(forged).problems()).singleElement()
                .satisfies(p -> assertThat(p.what()).contains("over the " + ContentCodec.MAX_STORED));
    }
}
