package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.keys.MasterKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A streamed backup's physical facts, asked for after its last byte, sealed in its manifest or no manifest at all. */
class PhysicalManifestTest {
    @TempDir
    Path tmp;

    @Test
    void physicalFactsLearntAfterTheStreamAreInTheManifestAndAFailingProducerLeavesNoBackup() throws Exception {
        Repository repo = Repository.init(new LocalDirectoryObjectStore(tmp.resolve("store")), "b", "p",
                MasterKey.generate());
        byte[] tar = TestData.random(3 * 1024 * 1024, 7);
        Manifest.Physical facts = new Manifest.Physical("7440891358716117040", "15", "15.8", 1, "0/3000028",
                "0/3000100", "000000010000000000000003", Instant.parse("2026-12-03T22:00:00Z"),
                Instant.parse("2026-12-03T22:00:04Z"));
        boolean[] streamEnded = {false};
        Manifest written = repo.writer().physical(() -> {
            assertThat(streamEnded[0]).as("asked after the stream ended").isTrue();
            return facts;
        }).write(List.of(new SnapshotWriter.Entry(Manifest.BASE_TAR, () -> new ByteArrayInputStream(tar) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                int n = super.read(b, off, len);
                streamEnded[0] |= n < 0;
                return n;
            }
        })).iterator(), BackupType.FULL, ChainContext.latestChain("full-1"), null).manifest();

        assertThat(repo.findManifest("full-1").orElseThrow().physical()).isEqualTo(facts).isEqualTo(written.physical());

        assertThatThrownBy(() -> repo.writer().physical(() -> {
            throw new IllegalStateException("pg_basebackup exited with 1");
        }).write(List.of(new SnapshotWriter.Entry(Manifest.BASE_TAR, () -> new ByteArrayInputStream(tar))).iterator(),
                BackupType.INCREMENTAL, ChainContext.latestChain("incr-1"), null)).hasMessageContaining("exited with 1");
        assertThat(repo.findManifest("incr-1")).isEmpty();

        Path dir = tmp.resolve("logical");
        java.nio.file.Files.createDirectories(dir);
        java.nio.file.Files.writeString(dir.resolve("toc.dat"), "logical", StandardCharsets.UTF_8);
        repo.writer().write(dir, BackupType.INCREMENTAL, ChainContext.latestChain("incr-2"));
        assertThat(repo.findManifest("incr-2").orElseThrow().physical()).isNull();
    }
}
