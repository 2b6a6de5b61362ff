package dev.lifeboat.snapshot.service;

import dev.lifeboat.snapshot.config.SnapshotConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * This worker's part of the spool, and what a killed run left behind in the others'. Every running worker owns one
 * directory {@code <spool-dir>/run-<id>} and holds a lock on it for its life; the operating system drops the lock
 * when the process dies, even by kill -9. At start, every run directory whose lock is free belongs to a dead worker:
 * the child process groups it recorded (pg_dump, pg_restore, and their parallel workers) are killed, then the
 * directory is deleted. Several workers may share one spool directory.
 */
@ApplicationScoped
public class Spool {
    private static final Logger LOG = Logger.getLogger(Spool.class);
    static final String RUN_PREFIX = "run-";
    static final String LOCK_FILE = ".lock";

    @Inject
    SnapshotConfig config;

    private Path runDir;
    private ChildProcesses children;
    private FileChannel lockChannel;
    private FileLock lock;

    /** Before the consumers start: no backup may begin while a dead run's pg_dump still holds its source. */
    void onStart(@Observes @Priority(1) StartupEvent event) {
        open();
    }

    void onStop(@Observes ShutdownEvent event) {
        try {
            if (lock != null) {
                lock.release();
                lockChannel.close();
            }
        } catch (IOException e) {
            LOG.debugf("releasing the spool lock: %s", e.getMessage());
        }
    }

    synchronized void open() {
        if (runDir != null) {
            return;
        }
        Path root = config.spoolDir();
        try {
            Files.createDirectories(root);
            // one worker at a time claims its run directory or sweeps: a directory just created and not yet locked
            // is never taken for a dead one
            try (FileChannel sweepChannel = FileChannel.open(root.resolve(".sweep.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock ignored = sweepChannel.lock()) {
                sweep(root);
                Path dir = root.resolve(RUN_PREFIX + UUID.randomUUID());
                Files.createDirectories(dir);
                lockChannel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE);
                lock = lockChannel.lock();
                runDir = dir;
                children = new ChildProcesses(dir.resolve(ChildProcesses.DIRECTORY));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the spool directory " + root + ": " + e.getMessage(), e);
        }
        LOG.infof("spool of this worker: %s", runDir);
    }

    /** The directory of one job ({@code name}) inside this worker's run directory. */
    public Path job(String name) {
        open();
        return runDir.resolve(name);
    }

    public ChildProcesses children() {
        open();
        return children;
    }

    private void sweep(Path root) throws IOException {
        List<Path> runs;
        try (Stream<Path> entries = Files.list(root)) {
            runs = entries.filter(p -> p.getFileName().toString().startsWith(RUN_PREFIX) && Files.isDirectory(p))
                    .toList();
        }
        for (Path run : runs) {
            if (alive(run)) {
                continue;
            }
            int killed = new ChildProcesses(run.resolve(ChildProcesses.DIRECTORY)).killRecorded();
            SnapshotService.deleteRecursively(run);
            LOG.warnf("spool %s was left by a worker that is gone: %d child process group(s) killed, directory "
                    + "removed", run, killed);
        }
    }

    /** A run directory is alive while its owner holds the lock on its lock file. */
    private static boolean alive(Path run) {
        Path lockFile = run.resolve(LOCK_FILE);
        if (!Files.exists(lockFile)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock probe = ch.tryLock();
            if (probe == null) {
                return true;
            }
            probe.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true; // held in this very JVM (an earlier application instance in tests)
        } catch (IOException e) {
            LOG.warnf("cannot tell whether spool %s is in use (%s); leaving it", run, e.getMessage());
            return true;
        }
    }
}
