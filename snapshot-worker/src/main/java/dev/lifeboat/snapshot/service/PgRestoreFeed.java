package dev.lifeboat.snapshot.service;

import dev.lifeboat.repository.snapshot.CopyRows;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import org.jboss.logging.Logger;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

/**
 * The table data files of a directory-format dump fed into pg_restore while it runs, instead of fetched whole
 * before it starts. Each {@code <dumpId>.dat} of the backup becomes a named pipe in the dump directory; a thread per
 * pipe waits for pg_restore (any of its parallel workers) to open it, then streams that file from the repository
 * into it, chunks fetched, authenticated and decrypted several at a time. pg_restore reads the table of contents and
 * creates the schema while nothing is fetched yet, and loads a table while the table's later chunks are still being
 * fetched; a table pg_restore is not loading costs a blocked thread, no memory.
 *
 * <p>A pipe's size is 0, so pg_restore cannot see which tables are large, and its parallel workers would take them
 * in dump order instead of largest first (a large table loaded last, by one worker while the other idles): the
 * table of contents is renumbered so that they take them in the order the files' sizes give ({@link DumpTocOrder}).
 * A restore succeeds only when pg_restore succeeded and every pipe was fed to its end ({@link #unfed()} empty): a
 * pipe closed early would look to pg_restore like a table with less data.
 */
final class PgRestoreFeed implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(PgRestoreFeed.class);
    /** The files pg_dump writes table data into (large objects and the table of contents are fetched first). */
    private static final Pattern TABLE_DATA = Pattern.compile("\\d+\\.dat");
    /**
     * The largest table of contents read into memory to be reordered (it takes a few times that while it is): a dump of
     * as many tables as the pipes allow ({@code maxPipes}) has one of a few MB.
     */
    private static final long MAX_REORDERED_TOC_BYTES = 16L << 20;

    private final Repository repository;
    private final Manifest manifest;
    private final Path dumpDir;
    private final List<Manifest.FileEntry> pipes;
    private final List<Thread> feeders = new ArrayList<>();
    /** The rows of each file fed to its end (its lines of COPY text); a file missing here was not fed whole. */
    private final Map<String, Long> rowsFed = new ConcurrentHashMap<>();
    private final AtomicLong bytesFed = new AtomicLong();
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private final List<OutputStream> heldOpen = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean stopping;

    private PgRestoreFeed(Repository repository, Manifest manifest, Path dumpDir, List<Manifest.FileEntry> pipes) {
        this.repository = repository;
        this.manifest = manifest;
        this.dumpDir = dumpDir;
        this.pipes = pipes;
    }

    /** Files fed through pipes: the table data files of a directory-format dump. */
    static boolean piped(Manifest.FileEntry file) {
        return TABLE_DATA.matcher(file.path()).matches();
    }

    /**
     * Makes a named pipe in {@code dumpDir} (which holds the other files already) for every table data file of the
     * backup; empty when pipes cannot be made here (no mkfifo, or more files than {@code maxPipes} threads may
     * wait on), and the caller fetches the files whole instead.
     */
    static Optional<PgRestoreFeed> prepare(Repository repository, Manifest manifest, Path dumpDir, int maxPipes) {
        List<Manifest.FileEntry> pipes = manifest.files().stream().filter(PgRestoreFeed::piped).toList();
        if (pipes.isEmpty() || pipes.size() > maxPipes) {
            return Optional.empty();
        }
        List<String> command = new ArrayList<>(List.of("mkfifo", "-m", "600", "--"));
        pipes.forEach(f -> command.add(dumpDir.resolve(f.path()).toString()));
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            SourceConnection.withoutPlatformEnvironment(pb.environment());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                LOG.warnf("cannot make named pipes in %s (%s): fetching backup %s whole before pg_restore", dumpDir,
                        out, manifest.backupId());
                return Optional.empty();
            }
        } catch (IOException e) {
            LOG.warnf("cannot run mkfifo (%s): fetching backup %s whole before pg_restore", e.getMessage(),
                    manifest.backupId());
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
        orderLargestFirst(manifest, dumpDir, pipes);
        return Optional.of(new PgRestoreFeed(repository, manifest, dumpDir, pipes));
    }

    /**
     * Renumbers the fetched table of contents so that pg_restore takes the piped tables largest first
     * ({@link DumpTocOrder}); leaves it as it is when it is not one that can be (another archive version).
     */
    private static void orderLargestFirst(Manifest manifest, Path dumpDir, List<Manifest.FileEntry> pipes) {
        Path toc = dumpDir.resolve("toc.dat");
        Path partial = dumpDir.resolve("toc.dat.partial");
        Map<String, Long> sizes = new HashMap<>();
        pipes.forEach(f -> sizes.put(f.path(), f.size()));
        try {
            if (Files.size(toc) > MAX_REORDERED_TOC_BYTES) {
                LOG.infof("backup %s: its table of contents is over %d bytes and is not reordered; pg_restore takes "
                        + "the tables in dump order", manifest.backupId(), MAX_REORDERED_TOC_BYTES);
                return;
            }
            Optional<byte[]> ordered = DumpTocOrder.largestFirst(Files.readAllBytes(toc), sizes);
            if (ordered.isEmpty()) {
                LOG.infof("backup %s: its table of contents is not one whose order can be changed; pg_restore takes "
                        + "the tables in dump order", manifest.backupId());
                return;
            }
            Files.write(partial, ordered.get());
            Files.move(partial, toc, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            // an optimisation only: whatever stops it leaves the table of contents as it was fetched
            LOG.warnf("backup %s: cannot reorder its table of contents (%s); pg_restore takes the tables in dump "
                    + "order", manifest.backupId(), e.toString());
        } finally {
            try {
                Files.deleteIfExists(partial);
            } catch (IOException e) {
                LOG.debugf("removing %s: %s", partial, e.getMessage());
            }
        }
    }

    /** Starts a feeder per pipe; call once pg_restore has started. */
    void start() {
        for (Manifest.FileEntry file : pipes) {
            Path pipe = dumpDir.resolve(file.path());
            feeders.add(Thread.ofPlatform().daemon().name("pg_restore-feed-" + file.path()).stackSize(256 * 1024)
                    .start(() -> feed(file, pipe)));
        }
    }

    private void feed(Manifest.FileEntry file, Path pipe) {
        OutputStream out = null;
        try {
            // blocks until a pg_restore worker opens the pipe to load this table
            out = new FileOutputStream(pipe.toFile());
            if (stopping) {
                out.close();
                return;
            }
            CopyRows rows = CopyRows.counting();
            repository.reader().copy(manifest, file, new CountingStream(out, rows));
            out.close();
            rows.end();
            rowsFed.put(file.path(), rows.count());
        } catch (IOException | RuntimeException e) {
            if (!stopping) {
                failure.compareAndSet(null, e);
            }
            if (out != null) {
                // left open until pg_restore is ended: it must not take the end of the pipe for the end of the table
                heldOpen.add(out);
            }
        }
    }

    /** The first failure of a feeder (the object store, a corrupt chunk, pg_restore gone), if any. */
    Optional<Exception> failure() {
        return Optional.ofNullable(failure.get());
    }

    long bytesFed() {
        return bytesFed.get();
    }

    /**
     * The rows fed through each table data file, by file name, for the files fed to their end. Once pg_restore has
     * succeeded (with {@code --exit-on-error}, each table's COPY all or nothing) these are the loaded tables' rows.
     */
    Map<String, Long> rowsFed() {
        return Map.copyOf(rowsFed);
    }

    /** Table data files not fed to their end: must be none once pg_restore has succeeded. */
    List<String> unfed() {
        return pipes.stream().map(Manifest.FileEntry::path).filter(p -> !rowsFed.containsKey(p)).toList();
    }

    /**
     * Ends every feeder: one still waiting for pg_restore is released by opening its pipe for reading and writing
     * (which never blocks), one still writing gets a broken pipe once nothing reads it.
     */
    @Override
    public void close() {
        stopping = true;
        for (int i = 0; i < feeders.size(); i++) {
            Thread t = feeders.get(i);
            if (t.isAlive()) {
                try (RandomAccessFile release = new RandomAccessFile(dumpDir.resolve(pipes.get(i).path()).toFile(),
                        "rw")) {
                    release.length(); // opened: that is all it takes
                } catch (IOException e) {
                    LOG.debugf("releasing feeder of %s: %s", pipes.get(i).path(), e.getMessage());
                }
            }
        }
        for (Thread t : feeders) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (t.isAlive()) {
                LOG.warnf("feeder %s did not end within 10 s", t.getName());
            }
        }
        for (OutputStream out : heldOpen) {
            try {
                out.close();
            } catch (IOException e) {
                LOG.debugf("closing a pipe into pg_restore: %s", e.getMessage());
            }
        }
        heldOpen.clear();
    }

    private final class CountingStream extends java.io.FilterOutputStream {
        private final CopyRows rows;

        CountingStream(OutputStream out, CopyRows rows) {
            super(out);
            this.rows = rows;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            rows.update(b, off, len);
            bytesFed.addAndGet(len);
        }
    }
}
