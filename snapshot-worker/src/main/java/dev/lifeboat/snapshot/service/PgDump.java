package dev.lifeboat.snapshot.service;

import dev.lifeboat.snapshot.domain.BackupFailure;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
    private static final int STDERR_TAIL = 2000;
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

    /** The name pg_dump's sessions carry on the source, so that what they wait for can be found. */
    static String applicationName(String backupId) {
        String name = "lifeboat-snapshot " + backupId;
        return name.length() <= 63 ? name : name.substring(0, 63);
    }

    /**
     * @param snapshot an exported snapshot to dump in ({@code --snapshot}), or null for pg_dump's own
     * @param backupId names pg_dump's sessions on the source ({@link #applicationName})
     */
    void run(SourceConnection source, Path target, Path spool, Duration progressInterval, String snapshot,
             String backupId, Deadline deadline, LongConsumer progress) {
        Path stderr = spool.resolve("pg_dump.stderr");
        // a lock wait that would outlast the deadline is ended by the deadline, which reads who holds the lock
        // while pg_dump still waits for it; pg_dump's own timeout then only backs it up
        Duration lockWait = lockWaitTimeout.compareTo(deadline.remaining()) < 0 ? lockWaitTimeout
                : deadline.remaining().plus(progressInterval.multipliedBy(2)).plusSeconds(5);
        List<String> command = new ArrayList<>(List.of(binary.toString(), "--format=directory",
                "--compress=0", "--jobs=" + Math.max(1, jobs), "--no-password", "--file=" + target,
                "--lock-wait-timeout=" + Math.max(1, lockWait.toMillis()),
                "--host=" + source.host(), "--port=" + source.port(), "--username=" + source.user(),
                "--dbname=" + source.libpqDatabase(keepaliveIdle)));
        if (snapshot != null) {
            command.add("--snapshot=" + snapshot);
        }
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(stderr.toFile());
        String applicationName = applicationName(backupId);
        source.libpqEnvironment(pb.environment(), connectTimeoutSeconds, applicationName);
        ChildProcesses.Child child;
        try {
            child = children.start(pb);
        } catch (IOException e) {
            throw new BackupFailure("DUMP", "cannot run " + binary + ": " + e.getMessage());
        }
        try (child) {
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
                progress.accept(SnapshotService.directorySize(target));
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
                throw new BackupFailure("DUMP", "pg_dump exited with " + p.exitValue() + ": " + error);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupFailure("DUMP", "interrupted while pg_dump was running");
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
