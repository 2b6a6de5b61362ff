package dev.lifeboat.repository.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
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
     * decrypted {@code parallelism} ahead: for a consumer that is fed (a process's standard input), with nothing
     * written to disk first.
     */
    public void copy(Manifest manifest, String path, OutputStream out) throws IOException {
        try (FileStream in = open(manifest, path)) {
            in.transferTo(out);
        }
    }

    /**
     * Streams one file of the backup into {@code out} (not closed), {@code parallelism} chunks in flight, each
     * authenticated, in order: for a reader that consumes the file as it comes (a pipe into pg_restore). Returns the
     * bytes written, which the manifest's size for the file must equal.
     */
    public long copy(Manifest manifest, Manifest.FileEntry file, OutputStream out) throws IOException {
        try (FileStream in = new FileStream(manifest, file)) {
            return in.transferTo(out);
        }
    }

    /**
     * One file of the backup as a stream, read in order while its chunks are fetched, authenticated and decrypted
     * {@code parallelism} ahead: for a reader that pulls (a tar extractor). Closing it stops the fetches still in
     * flight. A bad chunk throws {@link CorruptChunkException} from {@code read}; the end of the file throws an
     * {@link IOException} when its size is not the manifest's.
     */
    public FileStream open(Manifest manifest, String path) throws IOException {
        Manifest.FileEntry file = manifest.files().stream().filter(f -> f.path().equals(path)).findFirst()
                .orElseThrow(() -> new IOException("backup " + manifest.backupId() + " has no file " + path));
        return new FileStream(manifest, file);
    }

    /** A file of the backup, its chunks fetched ahead; says how long its reader waited for them. */
    public final class FileStream extends InputStream {
        private final Manifest manifest;
        private final Manifest.FileEntry file;
        private final ExecutorService pool = Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, "snapshot-copy");
            t.setDaemon(true);
            return t;
        });
        private final ArrayDeque<CompletableFuture<byte[]>> window = new ArrayDeque<>();
        private int next;
        private byte[] current;
        private int position;
        private long read;
        private long waitNanos;
        private boolean ended;

        private FileStream(Manifest manifest, Manifest.FileEntry file) {
            this.manifest = manifest;
            this.file = file;
        }

        /** How long reads were held up waiting for a chunk to arrive: the object store, or decryption, behind. */
        public long waitNanos() {
            return waitNanos;
        }

        @Override
        public int read() throws IOException {
            return available() > 0 || advance() ? current[position++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (len == 0) {
                return 0;
            }
            if (available() == 0 && !advance()) {
                return -1;
            }
            int n = Math.min(len, current.length - position);
            System.arraycopy(current, position, b, off, n);
            position += n;
            return n;
        }

        /** Writes the rest of the file into {@code out} a whole chunk at a time, with no copy in between. */
        @Override
        public long transferTo(OutputStream out) throws IOException {
            long n = 0;
            while (available() > 0 || advance()) {
                out.write(current, position, current.length - position);
                n += current.length - position;
                position = current.length;
            }
            return n;
        }

        @Override
        public int available() {
            return current == null ? 0 : current.length - position;
        }

        @Override
        public void close() {
            window.forEach(f -> f.cancel(true));
            window.clear();
            pool.shutdownNow();
        }

        /** The next chunk in order, false at the end of the file (whose size is checked then). */
        private boolean advance() throws IOException {
            do {
                fill();
                CompletableFuture<byte[]> head = window.poll();
                if (head == null) {
                    if (!ended) {
                        ended = true;
                        if (read != file.size()) {
                            throw new IOException("backup " + manifest.backupId() + ", file " + file.path()
                                    + ": restored " + read + " bytes, the manifest says " + file.size());
                        }
                    }
                    return false;
                }
                long waiting = System.nanoTime();
                current = join(head);
                waitNanos += System.nanoTime() - waiting;
                position = 0;
                read += current.length;
                fill();
            } while (current.length == 0);
            return true;
        }

        private void fill() {
            while (next < file.chunks().size() && window.size() < parallelism) {
                Manifest.ChunkRef ref = file.chunks().get(next++);
                window.add(CompletableFuture.supplyAsync(() -> ChunkFetcher.fetch(repo, manifest, file.path(), ref),
                        pool));
            }
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
