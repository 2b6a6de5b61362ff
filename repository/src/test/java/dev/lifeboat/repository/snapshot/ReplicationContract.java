package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.keys.MasterKey;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Copying backups into a second bucket (an offsite destination), on every object store. */
abstract class ReplicationContract {
    static final String BUCKET = "lifeboat-repository-test";
    static final String OFFSITE = "lifeboat-repository-offsite-test";

    @TempDir
    Path tmp;
    ObjectStore store;
    String prefix;
    MasterKey master;
    Repository repo;

    abstract ObjectStore store();

    @BeforeEach
    void setUp() {
        store = store();
        prefix = "repo-" + UUID.randomUUID();
        master = MasterKey.generate();
        repo = Repository.init(store, BUCKET, prefix, master);
    }

    @Test
    void aCopyInAnotherBucketRestoresToTheSameFilesAndIncrementalsCopyOnlyWhatTheDestinationLacks()
            throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("random.bin"), TestData.random(3 * 1024 * 1024 + 11, 1));
        Files.write(src.resolve("table.dat"), TestData.tableText(2 * 1024 * 1024, 2));
        Manifest full = repo.writer().write(src, BackupType.FULL, ChainContext.latestChain("b1")).manifest();
        Files.write(src.resolve("table.dat"), TestData.tableText(2 * 1024 * 1024, 3));
        Manifest incremental = repo.writer().write(src, BackupType.INCREMENTAL, ChainContext.latestChain("b2"))
                .manifest();

        Replicator replicator = new Replicator(repo, master);
        ReplicationResult first = replicator.replicate(full, store, OFFSITE, prefix + "-offsite");
        assertThat(first.keyFileCreated()).isTrue();
        assertThat(first.chunksCopied()).isEqualTo(full.distinctChunks().size()).isEqualTo(first.chunksTotal());
        assertThat(first.bytesCopied()).isEqualTo(full.distinctChunks().keySet().stream()
                .mapToLong(Manifest.ChunkRef::storedSize).sum());
        ReplicationResult second = replicator.replicate(incremental, store, OFFSITE, prefix + "-offsite");
        assertThat(second.keyFileCreated()).isFalse();
        assertThat(second.chunksCopied()).isPositive().isLessThan(second.chunksTotal());

        // the same key file, so the same master key opens the copy; a fresh open is what a restore would do
        assertThat(read(OFFSITE, prefix + "-offsite/keys/repository-key.json"))
                .isEqualTo(read(BUCKET, prefix + "/keys/repository-key.json"));
        assertThat(read(OFFSITE, second.manifestKey()))
                .isEqualTo(read(BUCKET, repo.layout().manifest(incremental.chainId(), "b2")));
        Repository copy = Repository.open(store, OFFSITE, prefix + "-offsite", master);
        assertThat(copy.chains()).containsExactly(full.chainId());
        assertThat(copy.manifests(full.chainId())).extracting(Manifest::backupId).containsExactly("b1", "b2");
        assertThat(copy.verifier().full(incremental).problems()).isEmpty();
        Path restored = tmp.resolve("restored");
        copy.reader().restore(copy.manifest(incremental.chainId(), "b2").orElseThrow(), restored);
        assertThat(TestData.fingerprint(restored)).isEqualTo(TestData.fingerprint(src));

        // a redelivery copies nothing again
        ReplicationResult again = replicator.replicate(incremental, store, OFFSITE, prefix + "-offsite");
        assertThat(again.chunksCopied()).isZero();
        assertThat(again.bytesCopied()).isZero();
        assertThat(again.manifestSha256()).isEqualTo(second.manifestSha256());
    }

    @Test
    void aTamperedChunkAtTheDestinationIsCaughtByFullVerifyAndAMissingOneIsCopiedAgain() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("data.bin"), TestData.random(3 * 1024 * 1024, 4));
        Manifest m = repo.writer().write(src, BackupType.FULL, ChainContext.latestChain("b1")).manifest();
        Replicator replicator = new Replicator(repo, master);
        Repository copy = replicator.replicate(m, store, OFFSITE, prefix).destination();

        Manifest.ChunkRef victim = m.files().getFirst().chunks().get(1);
        String key = copy.layout().chunk(m.chainId(), victim.id());
        byte[] stored = read(OFFSITE, key);
        stored[stored.length / 3] ^= 0x10;
        store.put(OFFSITE, key, stored);
        assertThat(copy.verifier().quick(m).ok()).isTrue();
        assertThat(copy.verifier().full(m).problems()).singleElement().satisfies(p -> {
            assertThat(p.chunkId()).isEqualTo(victim.id());
            assertThat(p.what()).contains("authentication tag mismatch");
        });
        assertThat(repo.verifier().full(m).ok()).isTrue(); // the source is untouched

        store.delete(OFFSITE, key);
        ReplicationResult repaired = replicator.replicate(m, store, OFFSITE, prefix);
        assertThat(repaired.chunksCopied()).isEqualTo(1);
        assertThat(copy.verifier().full(m).ok()).isTrue();
    }

    @Test
    void aDestinationHoldingAnotherRepositoryIsRefusedAndGetsNoManifest() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("t.dat"), TestData.tableText(300_000, 6));
        Manifest m = repo.writer().write(src, BackupType.FULL, ChainContext.latestChain("b1")).manifest();
        Replicator replicator = new Replicator(repo, master);

        Repository.init(store, OFFSITE, prefix + "-same-master", master);
        assertThatThrownBy(() -> replicator.replicate(m, store, OFFSITE, prefix + "-same-master"))
                .isInstanceOf(ReplicationException.class).hasMessageContaining("holds another repository");
        Repository.init(store, OFFSITE, prefix + "-other-master", MasterKey.generate());
        assertThatThrownBy(() -> replicator.replicate(m, store, OFFSITE, prefix + "-other-master"))
                .isInstanceOf(ReplicationException.class).hasMessageContaining("does not open the repository");
        for (String p : new String[]{prefix + "-same-master", prefix + "-other-master"}) {
            assertThat(store.size(OFFSITE, new Layout(p).manifest(m.chainId(), "b1"))).isEmpty();
        }
    }

    @Test
    void aChunkMissingAtTheSourceFailsTheCopyBeforeAnyManifestIsWritten() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("data.bin"), TestData.random(2 * 1024 * 1024, 7));
        Manifest m = repo.writer().write(src, BackupType.FULL, ChainContext.latestChain("b1")).manifest();
        Manifest.ChunkRef victim = m.files().getFirst().chunks().getLast();
        store.delete(BUCKET, repo.layout().chunk(m.chainId(), victim.id()));

        assertThatThrownBy(() -> new Replicator(repo, master).replicate(m, store, OFFSITE, prefix))
                .isInstanceOf(ReplicationException.class).hasMessageContaining(victim.id())
                .hasMessageContaining("missing");
        assertThat(store.size(OFFSITE, new Layout(prefix).manifest(m.chainId(), "b1"))).isEmpty();
    }

    private byte[] read(String bucket, String key) throws IOException {
        try (InputStream in = store.open(bucket, key)) {
            return in.readAllBytes();
        }
    }
}
