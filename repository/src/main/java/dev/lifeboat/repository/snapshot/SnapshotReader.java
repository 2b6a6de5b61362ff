package dev.lifeboat.repository.snapshot;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;

/**
 * Restores a backup from its manifest into a directory, streaming: chunks are fetched, authenticated and decrypted
 * {@code parallelism} at a time (at least four) in one window that runs across file boundaries, so that a backup of
 * many small files (a dump with one file per table) keeps as many in flight as one large file does, and written in
 * order; memory is about {@code (parallelism + 1)} chunks. Every chunk is authenticated and its hash recomputed; the
 * first bad one stops the restore with a {@link CorruptChunkException} naming the backup, the file and the chunk
 * (files restored before it stay on disk; the caller discards the target).
 */
public final class SnapshotReader {
    static final int MIN_IN_FLIGHT = 4;
    private final Repository repo;
    private final int parallelism;

    SnapshotReader(Repository repo, int parallelism) {
        this.repo = repo;
        this.parallelism = Math.max(MIN_IN_FLIGHT, parallelism);
    }

    private record Pending(int file, CompletableFuture<byte[]> chunk) {
    }

    public void restore(Manifest manifest, Path target) throws IOException {
        restore(manifest, target, file -> true);
    }

    /** Restores the files of the backup that {@code which} selects, in manifest order, into {@code target}. */
    public void restore(Manifest manifest, Path target, Predicate<Manifest.FileEntry> which) throws IOException {
        Path root = target.toAbsolutePath().normalize();
        Files.createDirectories(root);
        List<Manifest.FileEntry> files = manifest.files().stream().filter(which).toList();
        List<Path> outs = new ArrayList<>();
        for (Manifest.FileEntry file : files) {
            Path out = root.resolve(file.path()).normalize();
            if (!out.startsWith(root) || out.equals(root)) {
                throw new IOException("backup " + manifest.backupId() + ": file path escapes the target: " + file.path());
            }
            outs.add(out);
        }
        ExecutorService pool = Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, "snapshot-restore");
            t.setDaemon(true);
            return t;
        });
        ArrayDeque<Pending> window = new ArrayDeque<>();
        OutputStream os = null;
        try {
            int nextFile = 0;
            int nextChunk = 0;
            int writing = -1;
            while (true) {
                while (window.size() < parallelism && nextFile < files.size()) {
                    Manifest.FileEntry file = files.get(nextFile);
                    if (nextChunk >= file.chunks().size()) {
                        // an empty file, or all of this one's chunks asked for: on to the next
                        window.add(new Pending(nextFile, null));
                        nextFile++;
                        nextChunk = 0;
                        continue;
                    }
                    Manifest.ChunkRef ref = file.chunks().get(nextChunk++);
                    window.add(new Pending(nextFile, CompletableFuture.supplyAsync(
                            () -> ChunkFetcher.fetch(repo, manifest, file.path(), ref), pool)));
                }
                Pending head = window.poll();
                if (head == null) {
                    break;
                }
                if (head.file() != writing) {
                    closeChecked(os, manifest, files, writing, outs);
                    os = null;
                    writing = head.file();
                    Files.createDirectories(outs.get(writing).getParent());
                    os = Files.newOutputStream(outs.get(writing));
                }
                if (head.chunk() != null) {
                    os.write(join(head.chunk()));
                }
            }
            closeChecked(os, manifest, files, writing, outs);
            os = null;
        } finally {
            if (os != null) {
                os.close();
            }
            window.forEach(p -> {
                if (p.chunk() != null) {
                    p.chunk().cancel(true);
                }
            });
            pool.shutdownNow();
        }
    }

    /** Closes the file just written and checks its size against the manifest. */
    private static void closeChecked(OutputStream os, Manifest manifest, List<Manifest.FileEntry> files, int index,
                                     List<Path> outs) throws IOException {
        if (os == null) {
            return;
        }
        os.close();
        Manifest.FileEntry file = files.get(index);
        long written = Files.size(outs.get(index));
        if (written != file.size()) {
            throw new IOException("backup " + manifest.backupId() + ", file " + file.path() + ": restored "
                    + written + " bytes, the manifest says " + file.size());
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
        copy(manifest, file, out);
    }

    /**
     * Streams one file of the backup into {@code out} (not closed), {@code parallelism} chunks in flight, each
     * authenticated, in order: for a reader that consumes the file as it comes (a pipe into pg_restore). Returns the
     * bytes written, which the manifest's size for the file must equal.
     */
    public long copy(Manifest manifest, Manifest.FileEntry file, OutputStream out) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, "snapshot-copy");
            t.setDaemon(true);
            return t;
        });
        ArrayDeque<CompletableFuture<byte[]>> window = new ArrayDeque<>();
        long written = 0;
        try {
            int next = 0;
            while (next < file.chunks().size() || !window.isEmpty()) {
                while (next < file.chunks().size() && window.size() < parallelism) {
                    Manifest.ChunkRef ref = file.chunks().get(next++);
                    window.add(CompletableFuture.supplyAsync(
                            () -> ChunkFetcher.fetch(repo, manifest, file.path(), ref), pool));
                }
                byte[] chunk = join(window.poll());
                out.write(chunk);
                written += chunk.length;
            }
        } finally {
            window.forEach(f -> f.cancel(true));
            pool.shutdownNow();
        }
        if (written != file.size()) {
            throw new IOException("backup " + manifest.backupId() + ", file " + file.path() + ": restored "
                    + written + " bytes, the manifest says " + file.size());
        }
        return written;
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
