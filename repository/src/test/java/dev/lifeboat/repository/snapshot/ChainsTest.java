package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.keys.MasterKey;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** FULL / INCREMENTAL / DIFFERENTIAL semantics, measured in bytes uploaded. */
class ChainsTest {
    static final int SIZE = 20 * 1024 * 1024;

    @TempDir
    Path tmp;
    Repository repo;
    Path src;

    @BeforeEach
    void setUp() throws IOException {
        repo = Repository.init(new LocalDirectoryObjectStore(tmp.resolve("store")), "b", "p", MasterKey.generate());
        src = Files.createDirectories(tmp.resolve("src"));
    }

    /** Overwrites {@code length} bytes at {@code offset} of the file with fresh random bytes. */
    void change(Path file, int offset, int length, long seed) throws IOException {
        byte[] data = Files.readAllBytes(file);
        System.arraycopy(TestData.random(length, seed), 0, data, offset, length);
        Files.write(file, data);
    }

    void assertRestoresTo(Manifest m, Map<String, String> expected) throws IOException {
        Path dst = tmp.resolve("restore-" + m.backupId());
        repo.reader().restore(m, dst);
        assertThat(TestData.fingerprint(dst)).isEqualTo(expected);
        assertThat(repo.verifier().full(m).ok()).isTrue();
    }

    /**
     * One contiguous edit of 1 % of a random 20 MB file, with chunk sizes scaled to it (32/128/512 KiB; with the
     * defaults it is only ~35 chunks, see below): measured 5.49 % (7 of 141 chunks), since normalized cut conditions
     * resynchronise a chunk or two after the edit rather than at once. The 5 % of issue 3 is held end to end on a
     * real dump with the dump's own sizes ({@code BackupEndToEndIT}, 3.7 %); this bounds the chunker alone, so that
     * a change making it resynchronise later is caught.
     */
    @Test
    void incrementalAfterAOnePercentChangeUploadsAFewPercent() throws IOException {
        assertIncrementalShare(new Chunker.Sizes(32 * 1024, 128 * 1024, 512 * 1024), 0.08);
    }

    /** The same with the default sizes: reported, bounded loosely (measured 2.5-13% over 12 seeds). */
    @Test
    void incrementalWithDefaultChunkSizes() throws IOException {
        assertIncrementalShare(Chunker.Sizes.DEFAULT, 0.15);
    }

    void assertIncrementalShare(Chunker.Sizes sizes, double maxShare) throws IOException {
        Path file = src.resolve("big.dat");
        Files.write(file, TestData.random(SIZE, 1));
        WriteResult full = repo.writer(4, sizes).write(src, BackupType.FULL, ChainContext.latestChain("full"));
        assertThat(full.manifest().stats().chunksUploaded()).isEqualTo(full.manifest().distinctChunks().size());

        change(file, SIZE / 2, SIZE / 100, 2);
        WriteResult inc = repo.writer(4, sizes).write(src, BackupType.INCREMENTAL, ChainContext.latestChain("inc1"));
        Manifest m = inc.manifest();
        assertThat(m.type()).isEqualTo(BackupType.INCREMENTAL);
        assertThat(m.chainId()).isEqualTo(full.manifest().chainId());
        assertThat(m.parentBackupId()).isEqualTo("full");
        double share = (double) m.stats().bytesUploaded() / full.manifest().stats().bytesUploaded();
        System.out.printf("chunk sizes %s: INCREMENTAL after a 1%% change uploaded %d of the FULL's %d bytes (%.2f%%), %d of %d chunks%n",
                sizes, m.stats().bytesUploaded(), full.manifest().stats().bytesUploaded(), 100 * share,
                m.stats().chunksUploaded(), m.stats().chunksTotal());
        assertThat(share).isLessThanOrEqualTo(maxShare).isPositive();
        assertRestoresTo(m, TestData.fingerprint(src));
    }

    @Test
    void differentialUploadsOnlyWhatTheFullLacks() throws IOException {
        Path a = src.resolve("a.dat");
        Path b = src.resolve("b.dat");
        Files.write(a, TestData.tableText(6 * 1024 * 1024, 1));
        Files.write(b, TestData.random(4 * 1024 * 1024, 2));
        Manifest full = repo.writer().write(src, BackupType.FULL, ChainContext.latestChain("full")).manifest();
        Map<String, String> atFull = TestData.fingerprint(src);

        change(b, 1024 * 1024, 40_000, 3);
        Manifest inc = repo.writer().write(src, BackupType.INCREMENTAL, ChainContext.latestChain("inc")).manifest();
        Map<String, String> atInc = TestData.fingerprint(src);
        assertThat(inc.stats().chunksUploaded()).isPositive();

        // the differential sees the incremental's change again (the FULL lacks it) plus a new one
        change(b, 3 * 1024 * 1024, 40_000, 4);
        WriteResult diff = repo.writer().write(src, BackupType.DIFFERENTIAL,
                ChainContext.inChain("diff", full.chainId()));
        Manifest d = diff.manifest();
        assertThat(d.type()).isEqualTo(BackupType.DIFFERENTIAL);
        assertThat(d.parentBackupId()).isEqualTo("full");
        var fullIds = full.distinctChunks().keySet().stream().map(Manifest.ChunkRef::id).toList();
        var lacking = d.distinctChunks().keySet().stream().filter(c -> !fullIds.contains(c.id())).toList();
        assertThat(d.stats().chunksUploaded()).isEqualTo(lacking.size());
        assertThat(d.stats().bytesUploaded()).isEqualTo(lacking.stream().mapToLong(Manifest.ChunkRef::storedSize).sum());
        assertThat(d.stats().chunksUploaded()).isGreaterThan(inc.stats().chunksUploaded());
        assertThat(d.stats().bytesUploaded()).isLessThan(full.stats().bytesUploaded() / 2);

        // every backup restores on its own manifest and its chain
        assertRestoresTo(full, atFull);
        assertRestoresTo(inc, atInc);
        assertRestoresTo(d, TestData.fingerprint(src));
        assertThat(repo.manifests(full.chainId())).extracting(Manifest::backupId).containsExactly("full", "inc", "diff");
    }

    @Test
    void incrementalOrDifferentialWithoutAFullIsPromoted() throws IOException {
        Files.write(src.resolve("x.dat"), TestData.tableText(500_000, 9));
        WriteResult inc = repo.writer().write(src, BackupType.INCREMENTAL, ChainContext.latestChain("first"));
        assertThat(inc.promotedToFull()).isTrue();
        assertThat(inc.requestedType()).isEqualTo(BackupType.INCREMENTAL);
        assertThat(inc.type()).isEqualTo(BackupType.FULL);
        assertThat(inc.manifest().parentBackupId()).isNull();
        assertThat(repo.latestFull()).map(Manifest::backupId).contains("first");

        WriteResult diff = repo.writer().write(src, BackupType.DIFFERENTIAL,
                ChainContext.inChain("second", "20000101T000000Z-00000000"));
        assertThat(diff.promotedToFull()).isTrue();
        assertThat(diff.manifest().chainId()).isNotEqualTo(inc.manifest().chainId());

        WriteResult next = repo.writer().write(src, BackupType.INCREMENTAL, ChainContext.latestChain("third"));
        assertThat(next.promotedToFull()).isFalse();
        assertThat(next.manifest().chainId()).isEqualTo(diff.manifest().chainId());
        assertThat(next.manifest().stats().chunksUploaded()).isZero();
    }

    @Test
    void fullStartsANewChainAndUploadsEverything() throws IOException {
        Files.write(src.resolve("x.dat"), TestData.random(1024 * 1024, 9));
        Manifest first = repo.writer().write(src, BackupType.FULL, ChainContext.latestChain("f1")).manifest();
        Manifest second = repo.writer().write(src, BackupType.FULL, ChainContext.latestChain("f2")).manifest();
        assertThat(second.chainId()).isNotEqualTo(first.chainId());
        assertThat(second.stats().bytesUploaded()).isEqualTo(first.stats().bytesUploaded());
        assertThat(repo.chains()).containsExactly(first.chainId(), second.chainId());
    }
}
