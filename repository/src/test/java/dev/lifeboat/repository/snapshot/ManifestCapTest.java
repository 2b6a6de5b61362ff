package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.ForwardingObjectStore;
import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.ObjectTooLargeException;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.keys.MasterKey;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The manifest cap is a setting of the repository: a writer stops a backup whose manifest would pass it as soon as
 * its chunks show it, and a manifest over a reader's cap is refused naming the setting that raises it.
 */
class ManifestCapTest {
    static final String BUCKET = "manifest-cap-test";
    static final Chunker.Sizes SMALL = new Chunker.Sizes(1024, 2048, 4096);

    @TempDir
    Path tmp;
    final AtomicInteger chunksStored = new AtomicInteger();
    ObjectStore store;
    Repository repo;

    @BeforeEach
    void setUp() {
        store = new ForwardingObjectStore(new LocalDirectoryObjectStore(tmp.resolve("store"))) {
            @Override
            public void put(String bucket, String key, byte[] content) {
                if (key.contains("/chunks/")) {
                    chunksStored.incrementAndGet();
                }
                super.put(bucket, key, content);
            }
        };
        repo = Repository.init(store, BUCKET, "team/pg-main", MasterKey.generate());
    }

    private static List<SnapshotWriter.Entry> randomFile(int bytes) {
        byte[] data = new byte[bytes];
        new Random(7).nextBytes(data);
        return List.of(new SnapshotWriter.Entry("base.tar", () -> new ByteArrayInputStream(data)));
    }

    @Test
    void aWriterStopsAsSoonAsTheChunksShowTheManifestWouldPassTheCap() {
        // about 4 MiB in chunks of about 2 KiB: some 2000 references, some 300 KB of manifest, against a 16 KiB cap
        Repository capped = repo.withMaxManifestBytes(16 * 1024);

        assertThatThrownBy(() -> capped.writer(1, SMALL).write(randomFile(4 << 20).iterator(), BackupType.FULL,
                ChainContext.latestChain("b1"), null))
                .isInstanceOf(ManifestTooLargeException.class)
                .hasMessageContaining("backup b1 would need a manifest of over")
                .hasMessageContaining("over the 16384 bytes")
                .hasMessageContaining(Repository.MAX_MANIFEST_SETTING);

        // the references of 16 KiB are some 150 chunks: stopped there, not after the 2000
        assertThat(chunksStored.get()).isGreaterThan(0).isLessThan(400);
        assertThat(repo.findManifest("b1")).isEmpty();
    }

    @Test
    void theEstimateNeverRefusesAManifestThatFits() throws IOException {
        WriteResult w = repo.writer(1, SMALL).write(randomFile(256 << 10).iterator(), BackupType.FULL,
                ChainContext.latestChain("b1"), null);
        long size = store.size(BUCKET, repo.layout().manifest(w.manifest().chainId(), "b1")).orElseThrow();

        // a cap just over the manifest's size (the second differs only in its time) takes it
        WriteResult again = repo.withMaxManifestBytes(size + 64).writer(1, SMALL).write(
                randomFile(256 << 10).iterator(), BackupType.FULL, ChainContext.latestChain("b2"), null);
        assertThat(again.manifest().stats().chunksTotal()).isEqualTo(w.manifest().stats().chunksTotal());
    }

    @Test
    void aManifestOverTheReadersCapIsRefusedNamingTheSettingAndReadOnceTheCapIsRaised() throws IOException {
        WriteResult w = repo.writer(1, SMALL).write(randomFile(256 << 10).iterator(), BackupType.FULL,
                ChainContext.latestChain("b1"), null);
        String chain = w.manifest().chainId();

        assertThatThrownBy(() -> repo.withMaxManifestBytes(2048).sealedManifest(chain, "b1", w.manifestSha256()))
                .isInstanceOf(ObjectTooLargeException.class)
                .hasMessageContaining("over the 2048 bytes")
                .hasMessageContaining(Repository.MAX_MANIFEST_SETTING)
                .hasMessageContaining("says nothing about whether it is intact");
        assertThat(repo.withMaxManifestBytes(1 << 20).sealedManifest(chain, "b1", w.manifestSha256()))
                .contains(w.manifest());
    }
}
