package dev.lifeboat.snapshot.service;

import dev.lifeboat.snapshot.domain.BackupFailure;

import dev.lifeboat.repository.snapshot.SnapshotWriter;
import org.jboss.logging.Logger;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.function.LongConsumer;

/**
 * pg_dump in directory format, uncompressed (compression happens once, per chunk in the repository, and
 * unchanged tables give identical bytes, hence identical chunks), with parallel jobs. The password goes through the
 * environment, never the command line, so it shows in no process list and no log.
 * <p>
 * pg_dump runs in a process group of its own, under two limits: {@code --lock-wait-timeout} (never beyond the
 * backup's deadline) for the table locks it takes at start, and the backup's deadline itself, at which the whole
 * group is killed. Either way the failure names the locked table and the session holding the lock, when a lock is
 * what held pg_dump up.
 */
final class PgDump {
    private static final Logger LOG = Logger.getLogger(PgDump.class);
    private static final int STDERR_TAIL = 2000;
    /** How often a running dump is looked at for files pg_dump has finished. */
    private static final long POLL_MILLIS = 20;
    /** How long a reader at the end of a file pg_dump still writes waits before it looks again. */
    private static final long FOLLOW_MILLIS = 5;
    private final Path binary;
    private final int jobs;
    private final int connectTimeoutSeconds;
    private final Duration lockWaitTimeout;
    private final Duration keepaliveIdle;
    private final ChildProcesses children;

    PgDump(Path binary, int jobs, int connectTimeoutSeconds, Duration lockWaitTimeout, Duration keepaliveIdle,
           ChildProcesses children) {
        this.binary = binary;
        this.jobs = jobs;
        this.connectTimeoutSeconds = connectTimeoutSeconds;
        this.lockWaitTimeout = lockWaitTimeout;
        this.keepaliveIdle = keepaliveIdle;
        this.children = children;
    }

    /**
     * pg_dump's jobs for a database of {@code databaseBytes} (0 when unknown): one below {@code minParallelBytes},
     * since each parallel worker connects and reads the catalog before it dumps anything, which on a small database
     * costs more than the parallel dump saves; {@code configured} otherwise.
     */
    static int jobsFor(int configured, long databaseBytes, long minParallelBytes) {
        return databaseBytes > 0 && databaseBytes < minParallelBytes ? 1 : configured;
    }

    /** The name pg_dump's sessions carry on the source, so that what they wait for can be found. */
    static String applicationName(String backupId) {
        String name = "lifeboat-snapshot " + backupId;
        return name.length() <= 63 ? name : name.substring(0, 63);
    }

    /**
     * Runs pg_dump to its end, nothing read while it runs: the dump is complete in {@code target} on return.
     *
     * @param snapshot an exported snapshot to dump in ({@code --snapshot}), or null for pg_dump's own
     * @param backupId names pg_dump's sessions on the source ({@link #applicationName})
     */
    void run(SourceConnection source, Path target, Path spool, Duration progressInterval, String snapshot,
             String backupId, Deadline deadline, LongConsumer progress) {
        try (Running running = start(source, target, spool, progressInterval, snapshot, backupId, deadline,
                progress, false, null)) {
            running.await();
        }
    }

    /**
     * Starts pg_dump and hands out each file of the dump as soon as pg_dump is seen writing it: the repository
     * reads a table's file while pg_dump still writes it and the next ones (the file is removed once read), so the
     * dump is never spooled whole and the upload ends soon after pg_dump does. {@code toc.dat}, written last, comes last. The files end
     * only once pg_dump has exited successfully; a pg_dump that fails, is killed at the deadline or dies halfway
     * ends them with a {@link BackupFailure} (stage DUMP) instead, so a writer that reads them writes no manifest.
     *
     * @param snapshot an exported snapshot to dump in ({@code --snapshot}), or null for pg_dump's own
     * @param backupId names pg_dump's sessions on the source ({@link #applicationName})
     */
    Running start(SourceConnection source, Path target, Path spool, Duration progressInterval, String snapshot,
                  String backupId, Deadline deadline, LongConsumer progress) {
        return start(source, target, spool, progressInterval, snapshot, backupId, deadline, progress, true, null);
    }

    /**
     * As {@link #start(SourceConnection, Path, Path, Duration, String, String, Deadline, LongConsumer)}, each file
     * read through {@code tap}, which hashes the tables' rows: pg_dump then writes its COPY text in UTF-8 under the
     * session settings the hashes are defined by ({@link CopyHashes#PG_OPTIONS}).
     */
    Running start(SourceConnection source, Path target, Path spool, Duration progressInterval, String snapshot,
                  String backupId, Deadline deadline, LongConsumer progress, Tap tap) {
        return start(source, target, spool, progressInterval, snapshot, backupId, deadline, progress, true, tap);
    }

    /** Sees each file of the dump as it is read: returns what the reader reads instead of {@code in}. */
    interface Tap {
        InputStream open(Path file, InputStream in) throws IOException;

        /** Whether pg_dump writes in UTF-8 ({@code --encoding=UTF8}) for it. */
        boolean utf8();
    }

    private Running start(SourceConnection source, Path target, Path spool, Duration progressInterval,
                          String snapshot, String backupId, Deadline deadline, LongConsumer progress,
                          boolean removeRead, Tap tap) {
        Path stderr = spool.resolve("pg_dump.stderr");
        // a lock wait that would outlast the deadline is ended by the deadline, which reads who holds the lock
        // while pg_dump still waits for it; pg_dump's own timeout then only backs it up
        Duration lockWait = lockWaitTimeout.compareTo(deadline.remaining()) < 0 ? lockWaitTimeout
                : deadline.remaining().plus(progressInterval.multipliedBy(2)).plusSeconds(5);
        // --no-sync: the spool is read (and removed) while pg_dump runs, so flushing it to disk first only waits
        List<String> command = new ArrayList<>(List.of(binary.toString(), "--format=directory",
                "--compress=0", "--jobs=" + Math.max(1, jobs), "--no-sync", "--no-password", "--file=" + target,
                "--lock-wait-timeout=" + Math.max(1, lockWait.toMillis()),
                "--host=" + source.host(), "--port=" + source.port(), "--username=" + source.user(),
                "--dbname=" + source.libpqDatabase(keepaliveIdle)));
        if (snapshot != null) {
            command.add("--snapshot=" + snapshot);
        }
        if (tap != null && tap.utf8()) {
            command.add("--encoding=UTF8");
        }
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(stderr.toFile());
        String applicationName = applicationName(backupId);
        source.libpqEnvironment(pb.environment(), connectTimeoutSeconds, applicationName);
        if (tap != null) {
            pb.environment().put("PGOPTIONS", CopyHashes.PG_OPTIONS);
        }
        ChildProcesses.Child child;
        long started = System.nanoTime();
        try {
            child = children.start(pb);
        } catch (IOException e) {
            throw new BackupFailure("DUMP", "cannot run " + binary + ": " + e.getMessage());
        }
        Running running = new Running(child, target, removeRead, tap, Math.max(1, jobs));
        Thread.ofVirtual().name("pg_dump-" + backupId).start(() -> {
            try {
                watch(child, source, applicationName, lockWait, stderr, progressInterval, deadline,
                        () -> progress.accept(running.bytesDumped()));
                // how far the repository's readers are behind pg_dump when it ends: what is left of the backup's
                // time after this line is theirs (reading, chunking, uploading the rest, the manifest)
                if (removeRead) {
                    long unread = SnapshotService.directorySize(target);
                    LOG.infof("backup %s: pg_dump finished after %d ms, %d bytes dumped, %d of them not yet read "
                                    + "into the repository", backupId, (System.nanoTime() - started) / 1_000_000,
                            running.removedBytes.get() + unread, unread);
                }
                running.outcome.complete(null);
            } catch (RuntimeException e) {
                running.outcome.completeExceptionally(e);
            }
        });
        return running;
    }

    /** Waits for pg_dump until it exits or the deadline passes; a failure names its cause. */
    private void watch(ChildProcesses.Child child, SourceConnection source, String applicationName,
                       Duration lockWait, Path stderr, Duration progressInterval, Deadline deadline,
                       Runnable progress) {
        try {
            Process p = child.process();
            long interval = Math.max(50, progressInterval.toMillis());
            while (!p.waitFor(Math.min(interval, Math.max(1, deadline.remaining().toMillis())),
                    TimeUnit.MILLISECONDS)) {
                if (deadline.passed()) {
                    // read before the kill: once pg_dump's sessions are gone, so is what they waited for
                    var lock = LockDiagnosis.waitsOf(source, applicationName, connectTimeoutSeconds);
                    child.kill();
                    LockDiagnosis.endSessions(source, applicationName, connectTimeoutSeconds);
                    String what = lock.map(l -> l + ". Nothing was uploaded; end that session or let its "
                            + "transaction finish (or raise maxDuration), then request the backup again")
                            .orElse("pg_dump was not waiting for a lock. Nothing was uploaded; check that the source "
                                    + "server at " + source.host() + ":" + source.port() + " answers and is not "
                                    + "overloaded, or raise maxDuration if the database needs longer to dump");
                    throw new BackupFailure("DUMP", "pg_dump of " + source.host() + ":" + source.port() + "/"
                            + source.database() + " was stopped at " + deadline.describe() + ": " + what);
                }
                progress.run();
            }
            if (p.exitValue() != 0) {
                String error = tail(stderr);
                var table = LockDiagnosis.lockedTable(error);
                if (table.isPresent() && error.contains("timeout")) {
                    throw new BackupFailure("DUMP", "pg_dump of " + source.host() + ":" + source.port() + "/"
                            + source.database() + " gave up waiting " + lockWait + " for a lock: "
                            + LockDiagnosis.holdersOf(source, table.get(), connectTimeoutSeconds)
                            + ". Nothing was uploaded; end that session (pg_terminate_backend) or let its "
                            + "transaction finish, then request the backup again. pg_dump said: " + error);
                }
                throw new BackupFailure("DUMP", "pg_dump of " + source.host() + ":" + source.port() + "/"
                        + source.database() + " exited with " + p.exitValue() + " before the dump was complete; "
                        + "no manifest was written. pg_dump said: " + error);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupFailure("DUMP", "interrupted while pg_dump was running");
        }
    }

    /**
     * A pg_dump at work. {@link #files()} hands out the files it writes; closing ends pg_dump (its whole
     * process group) if it still runs, which is what a failed upload does to it.
     */
    static final class Running implements AutoCloseable {
        private static final String TOC = "toc.dat";
        private final ChildProcesses.Child child;
        private final Path target;
        private final boolean removeRead;
        private final Tap tap;
        final CompletableFuture<Void> outcome = new CompletableFuture<>();
        private final Set<String> handedOut = new HashSet<>();
        private final int jobs;
        private final AtomicLong removedBytes = new AtomicLong();

        private Running(ChildProcesses.Child child, Path target, boolean removeRead, Tap tap, int jobs) {
            this.jobs = jobs;
            this.child = child;
            this.target = target;
            this.removeRead = removeRead;
            this.tap = tap;
        }

        /** How many files pg_dump writes at once: as many readers follow it ({@link SnapshotWriter#readers}). */
        int jobs() {
            return jobs;
        }

        /** Bytes pg_dump has written so far, counting the files already read and removed. */
        long bytesDumped() {
            return removedBytes.get() + SnapshotService.directorySize(target);
        }

        /** Waits for pg_dump's end; a {@link BackupFailure} when it did not complete the dump. */
        void await() {
            try {
                outcome.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }

        /**
         * The dump's files as pg_dump starts writing them, each read to its end as pg_dump writes it (the entries'
         * order does not matter to pg_restore). {@code hasNext} waits for the next file, pg_dump's end, or its
         * failure. Several readers may each read a file at once, one taking the next file at a time.
         */
        Iterator<SnapshotWriter.Entry> files() {
            return new Iterator<>() {
                private final ArrayDeque<Path> ready = new ArrayDeque<>();

                @Override
                public boolean hasNext() {
                    while (ready.isEmpty()) {
                        boolean ended = outcome.isDone();
                        if (ended) {
                            await();
                        }
                        ready.addAll(finished(ended));
                        if (ended) {
                            return !ready.isEmpty();
                        }
                        if (ready.isEmpty()) {
                            try {
                                outcome.get(POLL_MILLIS, TimeUnit.MILLISECONDS);
                            } catch (TimeoutException | ExecutionException e) {
                                // next round: a new file, or pg_dump's end and its outcome
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                                throw new BackupFailure("DUMP", "interrupted while pg_dump was running");
                            }
                        }
                    }
                    return true;
                }

                @Override
                public SnapshotWriter.Entry next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    Path file = ready.poll();
                    return new SnapshotWriter.Entry(target.relativize(file).toString().replace('\\', '/'),
                            () -> open(file));
                }
            };
        }

        private InputStream open(Path file) throws IOException {
            InputStream read = new Following(file);
            InputStream in = tap == null ? read : tap.open(file, read);
            if (!removeRead) {
                return in;
            }
            return new FilterInputStream(in) {
                @Override
                public void close() throws IOException {
                    super.close();
                    // read into the repository: its space goes back at once, so the spool holds only what is
                    // being dumped and not read yet
                    long size = Files.size(file);
                    Files.deleteIfExists(file);
                    removedBytes.addAndGet(size);
                }
            };
        }

        /**
         * A file of the dump read while pg_dump may still write it: at its current end the reader waits for more
         * until pg_dump has closed the file (or ended), then reads what came meanwhile, and only then ends.
         */
        private final class Following extends InputStream {
            private final Path file;
            private final InputStream in;
            private boolean closedByPgDump;
            /** Whether bytes came since the file was last looked at: while it grows, pg_dump is not asked. */
            private boolean grew;
            private final Object fileKey;

            Following(Path file) throws IOException {
                this.file = file;
                this.in = Files.newInputStream(file);
                // the file itself, not its name: pg_dump holding another file of that name (or this one under
                // another name) must not end it early
                this.fileKey = fileKey(file);
            }

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                while (true) {
                    int n = in.read(b, off, len);
                    if (n != -1 || closedByPgDump) {
                        grew |= n > 0;
                        return n;
                    }
                    // at the end written so far: pg_dump's end, or its closing the file, is the file's end; a read
                    // after seeing that takes what was written in between
                    closedByPgDump = outcome.isDone() || !grew && closedNow(fileKey);
                    grew = false;
                    if (!closedByPgDump) {
                        try {
                            Thread.sleep(FOLLOW_MILLIS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new java.io.InterruptedIOException("interrupted while reading " + file
                                    + " as pg_dump writes it");
                        }
                    }
                }
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        }

        /**
         * Whether pg_dump, seen holding the file ({@code fileKey}: its device and inode) open when it was handed out,
         * holds it no more: pg_dump never reopens a file. Where /proc cannot be read, it counts as still held.
         */
        private boolean closedNow(Object fileKey) {
            return fileKey != null && heldFiles().map(held -> !held.contains(fileKey)).orElse(false);
        }

        /**
         * Files of the dump not handed out yet that pg_dump holds open: listed first, then compared with what
         * pg_dump's processes hold open. Such a file is read while pg_dump writes it ({@link Following}). A file
         * never seen open (written whole between two looks, or not opened yet) waits for pg_dump's end: a file just
         * created is listed before its creator holds it open. All the rest, toc.dat last, once pg_dump has ended.
         */
        private List<Path> finished(boolean ended) {
            List<Path> listed;
            try (Stream<Path> files = Files.list(target)) {
                listed = files.filter(Files::isRegularFile)
                        .filter(f -> !handedOut.contains(f.getFileName().toString()))
                        .sorted(Comparator.comparing((Path f) -> f.getFileName().toString().equals(TOC))
                                .thenComparing(Path::toString))
                        .toList();
            } catch (NoSuchFileException e) {
                return List.of(); // pg_dump creates the directory when it starts
            } catch (IOException e) {
                throw new BackupFailure("DUMP", "cannot list the dump directory " + target + ": " + e.getMessage());
            }
            if (!ended) {
                Optional<Set<Object>> held = heldFiles();
                if (held.isEmpty()) {
                    return List.of(); // cannot tell what is complete: everything is read once pg_dump has ended
                }
                listed = listed.stream().filter(f -> !f.getFileName().toString().equals(TOC))
                        .filter(f -> held.get().contains(fileKey(f))).toList();
            }
            listed.forEach(f -> handedOut.add(f.getFileName().toString()));
            return listed;
        }

        /** A file's device and inode; null when it cannot be read (gone meanwhile). */
        private static Object fileKey(Path file) {
            try {
                return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
            } catch (IOException e) {
                return null;
            }
        }

        /**
         * The files pg_dump and its parallel workers hold open (from /proc), by device and inode; empty where that
         * cannot be read.
         */
        private Optional<Set<Object>> heldFiles() {
            Set<Object> held = new HashSet<>();
            for (long pid : pgDumpProcesses()) {
                try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
                    for (Path fd : (Iterable<Path>) fds::iterator) {
                        Object key = fileKey(fd); // the descriptor's link leads to the open file itself
                        if (key != null) {
                            held.add(key);
                        }
                    }
                } catch (NoSuchFileException e) {
                    // the process ended meanwhile: it holds nothing
                } catch (IOException | RuntimeException e) {
                    return Optional.empty();
                }
            }
            return Optional.of(held);
        }

        /**
         * pg_dump and its parallel workers (its children, forked at its start). Read from each process's
         * {@code /proc/<pid>/task/<tid>/children}: {@link Process#descendants()} lists every process of the machine
         * to find them, which, looked at every few milliseconds on a busy host, costs more than reading the dump.
         */
        private List<Long> pgDumpProcesses() {
            List<Long> pids = new ArrayList<>();
            ArrayDeque<Long> todo = new ArrayDeque<>(List.of(child.process().pid()));
            while (!todo.isEmpty()) {
                long pid = todo.poll();
                pids.add(pid);
                try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
                    for (Path task : (Iterable<Path>) tasks::iterator) {
                        Path children = task.resolve("children");
                        if (!Files.exists(children)) {
                            // a kernel without the children files: the slower way
                            return descendantsOf(child.process());
                        }
                        for (String c : Files.readString(children).trim().split("\\s+")) {
                            if (!c.isEmpty()) {
                                todo.add(Long.parseLong(c));
                            }
                        }
                    }
                } catch (NoSuchFileException e) {
                    // ended meanwhile: it holds nothing and has no children left
                } catch (IOException | NumberFormatException e) {
                    return descendantsOf(child.process());
                }
            }
            return pids;
        }

        private static List<Long> descendantsOf(Process process) {
            List<Long> pids = new ArrayList<>();
            pids.add(process.pid());
            process.descendants().forEach(h -> pids.add(h.pid()));
            return pids;
        }

        @Override
        public void close() {
            child.close();
        }
    }

    private static String tail(Path stderr) {
        try {
            String s = Files.readString(stderr, StandardCharsets.UTF_8).strip();
            return s.length() <= STDERR_TAIL ? s : "..." + s.substring(s.length() - STDERR_TAIL);
        } catch (IOException e) {
            return "(no error output)";
        }
    }
}
