package dev.lifeboat.repository.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.keys.MasterKey;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Streamed entries read by several readers at once: same backup as one reader, and a failure ends all of them. */
class SnapshotWriterReadersTest {
    @TempDir
    Path tmp;

    @Test
    void severalReadersWriteTheFilesOneReaderWouldAndRestoreThemEqual() throws IOException {
        Repository repo = Repository.init(new LocalDirectoryObjectStore(tmp.resolve("store")), "bucket", "repo",
                MasterKey.generate());
        Map<String, byte[]> content = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 7; i++) {
            content.put(i + ".dat", TestData.tableText(300_000 + i * 250_000, i));
        }
        content.put("toc.dat", TestData.random(5_000, 99));
        List<SnapshotWriter.Entry> entries = new ArrayList<>();
        content.forEach((path, bytes) -> entries.add(new SnapshotWriter.Entry(path,
                () -> new ByteArrayInputStream(bytes))));

        Manifest manifest = repo.writer().readers(3).writeStreamed(entries.iterator(), BackupType.FULL,
                ChainContext.latestChain("readers-1"), () -> null).manifest();

        assertThat(manifest.files()).extracting(Manifest.FileEntry::path)
                .containsExactlyInAnyOrderElementsOf(content.keySet());
        Path restored = tmp.resolve("restored");
        repo.reader().restore(manifest, restored);
        for (Map.Entry<String, byte[]> e : content.entrySet()) {
            assertThat(Files.readAllBytes(restored.resolve(e.getKey()))).as(e.getKey()).isEqualTo(e.getValue());
        }
        // the same bytes read by one reader give the same chunks
        Manifest again = repo.writer().writeStreamed(entries.iterator(), BackupType.INCREMENTAL,
                ChainContext.latestChain("readers-2"), () -> null).manifest();
        assertThat(again.stats().chunksUploaded()).isZero();
    }

    /**
     * Two slots (parallelism 1) shared by four readers, hundreds of small chunks of every size, files repeating each
     * other's bytes (a chunk waits for the same chunk's upload by another reader) and tiny files before large ones
     * (slots grow): every file restores equal, and the same bytes again upload nothing.
     */
    @Test
    void fewSlotsSharedByManyReadersKeepEveryChunkItsOwn() throws IOException {
        Repository repo = Repository.init(new LocalDirectoryObjectStore(tmp.resolve("store")), "bucket", "repo",
                MasterKey.generate());
        Chunker.Sizes small = new Chunker.Sizes(1024, 4096, 16 * 1024);
        Map<String, byte[]> content = new java.util.LinkedHashMap<>();
        content.put("a-tiny.dat", TestData.random(10, 1));
        content.put("b-small.dat", TestData.random(3_000, 2));
        byte[] shared = TestData.tableText(400_000, 3);
        for (int i = 0; i < 4; i++) {
            content.put("c-copy-" + i + ".dat", shared);
            content.put("d-own-" + i + ".dat", TestData.random(150_000 + i * 70_001, 10 + i));
        }
        List<SnapshotWriter.Entry> entries = new ArrayList<>();
        content.forEach((path, bytes) -> entries.add(new SnapshotWriter.Entry(path,
                () -> new ByteArrayInputStream(bytes))));

        Manifest manifest = repo.writer(1, small).readers(4).writeStreamed(entries.iterator(), BackupType.FULL,
                ChainContext.latestChain("slots-1"), () -> null).manifest();

        assertThat(manifest.stats().chunksTotal()).isGreaterThan(200);
        Path restored = tmp.resolve("restored-slots");
        repo.reader().restore(manifest, restored);
        for (Map.Entry<String, byte[]> e : content.entrySet()) {
            assertThat(Files.readAllBytes(restored.resolve(e.getKey()))).as(e.getKey()).isEqualTo(e.getValue());
        }
        Manifest again = repo.writer(1, small).writeStreamed(entries.iterator(), BackupType.INCREMENTAL,
                ChainContext.latestChain("slots-2"), () -> null).manifest();
        assertThat(again.stats().chunksUploaded()).isZero();
    }

    @Test
    void aReaderFailingEndsTheOthersAtOnceAndNoManifestIsWritten() throws Exception {
        Repository repo = Repository.init(new LocalDirectoryObjectStore(tmp.resolve("store")), "bucket", "repo",
                MasterKey.generate());
        CountDownLatch waiting = new CountDownLatch(1);
        CountDownLatch released = new CountDownLatch(1);
        InputStream forever = new InputStream() {
            @Override
            public int read() throws IOException {
                waiting.countDown();
                try {
                    Thread.sleep(Duration.ofMinutes(10));
                } catch (InterruptedException e) {
                    released.countDown();
                    throw new java.io.InterruptedIOException("stopped");
                }
                return -1;
            }
        };
        InputStream broken = new InputStream() {
            @Override
            public int read() throws IOException {
                try {
                    waiting.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new IOException("the producer's file went away");
            }
        };
        List<SnapshotWriter.Entry> entries = List.of(new SnapshotWriter.Entry("1.dat", () -> forever),
                new SnapshotWriter.Entry("2.dat", () -> broken));

        long started = System.nanoTime();
        Throwable failure = catchThrowable(() -> repo.writer().readers(2).writeStreamed(entries.iterator(),
                BackupType.FULL, ChainContext.latestChain("readers-fail"), () -> null));

        assertThat(failure).isInstanceOf(IOException.class).hasMessageContaining("the producer's file went away");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(20));
        assertThat(released.await(10, TimeUnit.SECONDS)).as("the other reader was stopped").isTrue();
        assertThat(repo.findManifest("readers-fail")).isEmpty();
    }
}
