package dev.lifeboat.snapshot.service;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

import dev.lifeboat.repository.wal.WalArchive;

/**
 * Fills a directory with the WAL files a recovery will ask for, ahead of replay: {@code parallelism} fetches (each
 * decrypted and checksummed by {@link WalArchive#fetch}) in flight, in the order replay needs them, and no more than
 * a few segments ahead of what restore_command has taken (each taken file is marked {@code <name>.done} by the
 * script and removed a little later; one it had to wait for is marked {@code <name>.wait}), so the disk holds a
 * bounded window whatever the length of the archive. The WAL directory is the worker's and only the worker writes
 * there (restore_command, run by the cluster's OS user, reads it and writes its marks into a directory of its own):
 * the files are written, renamed and removed by name, which is safe only where no other user can replace a name
 * with a link, and {@link #start} refuses a directory another user owns or may write.
 * restore_command itself is the tiny script of {@link #restoreCommandScript}: it waits for its file here. A fetch that
 * fails writes the {@code failed} marker with the reason, so that restore_command fails at once instead of waiting.
 */
final class WalPrefetcher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(WalPrefetcher.class);
    /** Files delivered and not yet taken, per fetch in flight. */
    private static final int AHEAD_PER_FETCH = 2;
    /** Taken files kept a little while: recovery may read the newest one again when it ends. */
    private static final int KEEP_TAKEN = 2;

    private final WalArchive wal;
    private final String systemIdentifier;
    private final List<String> plan;
    private final Path dir;
    private final Path marks;
    private final Path failedMarker;
    /** The plan, the failure marker and WAL files are read by restore_command, run by the cluster's OS user. */
    private static final String READABLE = "rw-r--r--";
    private final int parallelism;
    private final ExecutorService pool;
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong fetchNanos = new AtomicLong();
    private volatile int delivered;
    private volatile boolean stopped;
    private Thread feeder;

    /** @param systemIdentifier the restored cluster's: a segment of another cluster is refused, never delivered */
    WalPrefetcher(WalArchive wal, String systemIdentifier, List<String> plan, Path dir, Path marks,
                  Path failedMarker, int parallelism) {
        this.wal = wal;
        this.systemIdentifier = systemIdentifier;
        this.plan = List.copyOf(plan);
        this.dir = dir;
        this.marks = marks;
        this.failedMarker = failedMarker;
        this.parallelism = parallelism;
        this.pool = Executors.newFixedThreadPool(parallelism, r -> {
            Thread t = new Thread(r, "wal-prefetch");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * restore_command: {@code <script> %f %p}. A name outside the plan (a newer timeline's history file, a segment
     * past the archive's end or past a hole) fails at once, which is how recovery learns where the WAL ends. A file
     * asked for after a fetch failed is marked {@code <name>.refused}: the restore then fails instead of promoting
     * at the point where the WAL was refused.
     */
    static String restoreCommandScript(Path dir, Path marks, Path plan, Path failed, Duration wait) {
        return """
                #!/bin/sh
                # restore_command of a point-in-time restore: the worker's prefetcher delivers WAL files into %1$s;
                # what this script took or waited for is marked in %5$s
                d='%1$s'
                m='%5$s'
                grep -qxF "$1" '%2$s' || exit 1
                end=$(( $(date +%%s) + %3$d ))
                [ -f "$d/$1" ] || : > "$m/$1.wait"
                while [ ! -f "$d/$1" ]; do
                  [ -f '%4$s' ] && { echo "restore_command: $1: $(cat '%4$s')" >&2; : > "$m/$1.refused"; exit 1; }
                  [ "$(date +%%s)" -ge "$end" ] && { echo "restore_command: $1 not delivered within %3$d s" >&2; exit 1; }
                  sleep 0.05
                done
                cp "$d/$1" "$2" && touch "$m/$1.done"
                """.formatted(dir, plan, Math.max(1, wait.toSeconds()), failed, marks);
    }

    void start() {
        requireWorkersOwn(dir);
        requireWorkersOwn(failedMarker.getParent());
        try {
            Path planFile = failedMarker.resolveSibling("plan");
            NoFollow.writeFresh(planFile, (plan.isEmpty() ? "" : String.join("\n", plan) + "\n")
                    .getBytes(StandardCharsets.UTF_8), READABLE);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the WAL plan beside " + dir + ": " + e.getMessage(), e);
        }
        feeder = new Thread(this::feed, "wal-prefetch-feeder");
        feeder.setDaemon(true);
        feeder.start();
    }

    private void feed() {
        ArrayDeque<CompletableFuture<Void>> inFlight = new ArrayDeque<>();
        List<String> written = new ArrayList<>();
        int next = 0;
        try {
            while (!stopped && (next < plan.size() || !inFlight.isEmpty())) {
                while (!inFlight.isEmpty() && inFlight.peek().isDone()) {
                    join(inFlight.poll());
                    written.add(plan.get(delivered));
                    delivered++;
                }
                int taken = prune(written);
                boolean room = delivered + inFlight.size() - taken < parallelism * AHEAD_PER_FETCH;
                if (next < plan.size() && inFlight.size() < parallelism && room) {
                    String name = plan.get(next++);
                    inFlight.add(CompletableFuture.runAsync(() -> fetch(name), pool));
                } else {
                    Thread.sleep(20);
                }
            }
            while (!stopped) {
                prune(written);
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.warnf("WAL prefetch into %s stopped: %s", dir, e.getMessage());
            try {
                NoFollow.writeFresh(failedMarker, String.valueOf(e.getMessage()).replaceAll("[\r\n']", " ")
                        .getBytes(StandardCharsets.UTF_8), READABLE);
            } catch (IOException ignored) {
                // restore_command then waits until its own deadline
            }
        }
    }

    /**
     * Refuses a directory that is not the worker's own or that another user may write to: another user could rename
     * what is in it and put a link under the name the worker writes or removes next.
     */
    static void requireWorkersOwn(Path directory) {
        try {
            java.nio.file.attribute.PosixFileAttributes a = Files.readAttributes(directory,
                    java.nio.file.attribute.PosixFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            String me = System.getProperty("user.name");
            var perms = a.permissions();
            // by uid: a worker whose uid has no name (a container's random uid) is "?" to user.name
            Object mine = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            Object owner = Files.getAttribute(directory, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if (!a.isDirectory() || !owner.equals(mine)
                    || perms.contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE)
                    || perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE)) {
                throw new IllegalStateException("refusing to deliver WAL files into " + directory + ": it is "
                        + (a.isDirectory() ? "" : "not a directory, ") + "owned by " + a.owner().getName() + " with "
                        + "mode " + java.nio.file.attribute.PosixFilePermissions.toString(perms) + ", and only a "
                        + "directory that is " + me + "'s and writable by no one else is safe to write into by name");
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot look at the WAL directory " + directory + ": " + e.getMessage(), e);
        }
    }

    /** Removes taken files, keeping the newest few; returns how many of the written files were taken. */
    private int prune(List<String> written) {
        int taken = 0;
        for (int i = 0; i < written.size(); i++) {
            if (Files.exists(marks.resolve(written.get(i) + ".done"), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                taken = i + 1;
            }
        }
        for (int i = 0; i < taken - KEEP_TAKEN; i++) {
            try {
                Files.deleteIfExists(dir.resolve(written.get(i)));
            } catch (IOException ignored) {
                // retried on the next round
            }
        }
        return taken;
    }

    private void fetch(String name) {
        long start = System.nanoTime();
        byte[] content = wal.fetch(name, systemIdentifier).orElseThrow(() -> new IllegalStateException("WAL file " + name
                + " disappeared from " + wal.location() + " during the restore"));
        Path tmp = dir.resolve(name + ".tmp");
        try {
            // the directory is the cluster's OS user's: a link put at the temporary name is replaced, not followed
            NoFollow.writeFresh(tmp, content, READABLE);
            // restore_command sees a file only once it is complete
            Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write WAL file " + name + " into " + dir + ": " + e.getMessage(), e);
        }
        bytes.addAndGet(content.length);
        fetchNanos.addAndGet(System.nanoTime() - start);
    }

    /** How many files restore_command had to wait for (each marked {@code <name>.wait}): replay outran the fetches. */
    int waits() {
        try (java.util.stream.Stream<Path> files = Files.list(marks)) {
            return (int) files.filter(p -> p.getFileName().toString().endsWith(".wait")).count();
        } catch (IOException e) {
            return -1;
        }
    }

    int delivered() {
        return delivered;
    }

    long bytes() {
        return bytes.get();
    }

    /** Time spent fetching, summed over the fetches (they overlap: wall time is less). */
    long fetchMillis() {
        return fetchNanos.get() / 1_000_000;
    }

    @Override
    public void close() {
        stopped = true;
        if (feeder != null) {
            feeder.interrupt();
            try {
                feeder.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        pool.shutdownNow();
        try {
            // a fetch still writing its file would race the removal of the directory that follows
            if (!pool.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS)) {
                LOG.warnf("WAL prefetch into %s: fetches still running 10 s after the restore ended", dir);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void join(CompletableFuture<Void> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }
}
