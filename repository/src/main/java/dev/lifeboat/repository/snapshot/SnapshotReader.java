package dev.lifeboat.repository.snapshot;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Restores a backup from its manifest into a directory, streaming: each file's chunks are fetched
 * {@code parallelism} ahead and written in order, so memory is about {@code (parallelism + 1)} chunks. Every chunk
 * is authenticated and its hash recomputed; the first bad one stops the restore with a {@link CorruptChunkException}
 * naming the backup, the file and the chunk (files restored before it stay on disk; the caller discards the target).
 */
public final class SnapshotReader {
    private final Repository repo;
    private final int parallelism;

    SnapshotReader(Repository repo, int parallelism) {
        this.repo = repo;
        this.parallelism = parallelism;
    }

    public void restore(Manifest manifest, Path target) throws IOException {
        Path root = target.toAbsolutePath().normalize();
        Files.createDirectories(root);
        ExecutorService pool = Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, "snapshot-restore");
            t.setDaemon(true);
            return t;
        });
        try {
            for (Manifest.FileEntry file : manifest.files()) {
                Path out = root.resolve(file.path()).normalize();
                if (!out.startsWith(root) || out.equals(root)) {
                    throw new IOException("backup " + manifest.backupId() + ": file path escapes the target: " + file.path());
                }
                Files.createDirectories(out.getParent());
                try (OutputStream os = Files.newOutputStream(out)) {
                    ArrayDeque<CompletableFuture<byte[]>> window = new ArrayDeque<>();
                    int next = 0;
                    while (next < file.chunks().size() || !window.isEmpty()) {
                        while (next < file.chunks().size() && window.size() < parallelism) {
                            Manifest.ChunkRef ref = file.chunks().get(next++);
                            window.add(CompletableFuture.supplyAsync(
                                    () -> ChunkFetcher.fetch(repo, manifest, file.path(), ref), pool));
                        }
                        os.write(join(window.poll()));
                    }
                }
                long written = Files.size(out);
                if (written != file.size()) {
                    throw new IOException("backup " + manifest.backupId() + ", file " + file.path() + ": restored "
                            + written + " bytes, the manifest says " + file.size());
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Writes the file {@code path} of the backup to {@code out} in order, its chunks fetched, authenticated and
     * decrypted {@code parallelism} ahead: what a restore that feeds a consumer (tar extracting a base backup) reads,
     * with nothing written to disk first.
     */
    public void copy(Manifest manifest, String path, OutputStream out) throws IOException {
        Manifest.FileEntry file = manifest.files().stream().filter(f -> f.path().equals(path)).findFirst()
                .orElseThrow(() -> new IOException("backup " + manifest.backupId() + " has no file " + path));
        ExecutorService pool = Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, "snapshot-copy");
            t.setDaemon(true);
            return t;
        });
        try {
            ArrayDeque<CompletableFuture<byte[]>> window = new ArrayDeque<>();
            int next = 0;
            while (next < file.chunks().size() || !window.isEmpty()) {
                while (next < file.chunks().size() && window.size() < parallelism) {
                    Manifest.ChunkRef ref = file.chunks().get(next++);
                    window.add(CompletableFuture.supplyAsync(
                            () -> ChunkFetcher.fetch(repo, manifest, file.path(), ref), pool));
                }
                out.write(join(window.poll()));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static byte[] join(CompletableFuture<byte[]> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }
}
