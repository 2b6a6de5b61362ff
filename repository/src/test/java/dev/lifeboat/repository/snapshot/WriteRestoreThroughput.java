package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.keys.MasterKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One-run throughput of write + restore of a ~100 MB file on a local directory. Not part of the normal build:
 * {@code ./mvnw -B -o verify -pl repository -Dtest=WriteRestoreThroughput -Dlifeboat.bench=true}.
 */
@EnabledIfSystemProperty(named = "lifeboat.bench", matches = "true")
class WriteRestoreThroughput {
    @TempDir
    Path tmp;

    @Test
    void writeAndRestoreOneHundredMegabytes() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] half = TestData.random(50 * 1024 * 1024, 1);
        byte[] text = TestData.tableText(50 * 1024 * 1024, 2);
        try (var out = Files.newOutputStream(src.resolve("big.dat"))) {
            out.write(half);
            out.write(text);
        }
        long size = Files.size(src.resolve("big.dat"));
        Repository repo = Repository.init(new LocalDirectoryObjectStore(tmp.resolve("store")), "b", "p",
                MasterKey.generate());
        long t0 = System.nanoTime();
        Manifest m = repo.writer().write(src, BackupType.FULL, ChainContext.latestChain("bench")).manifest();
        long t1 = System.nanoTime();
        repo.reader().restore(m, tmp.resolve("dst"));
        long t2 = System.nanoTime();
        assertThat(Files.size(tmp.resolve("dst/big.dat"))).isEqualTo(size);
        double mb = size / 1e6;
        System.out.printf("THROUGHPUT file %.1f MB (half random, half text), stored %.1f MB: write %.2f s = %.1f MB/s, "
                        + "restore %.2f s = %.1f MB/s%n", mb, m.stats().bytesUploaded() / 1e6, (t1 - t0) / 1e9,
                mb / ((t1 - t0) / 1e9), (t2 - t1) / 1e9, mb / ((t2 - t1) / 1e9));
    }
}
