package dev.lifeboat.snapshot.service;

import dev.lifeboat.snapshot.domain.BackupFailure;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * pg_dump in directory format, uncompressed (compression happens once, per chunk in the repository, and
 * unchanged tables give identical bytes, hence identical chunks), with parallel jobs. The password goes through the environment, never the
 * command line, so it shows in no process list and no log.
 */
final class PgDump {
    private static final int STDERR_TAIL = 2000;
    private final Path binary;
    private final int jobs;
    private final int connectTimeoutSeconds;

    PgDump(Path binary, int jobs, int connectTimeoutSeconds) {
        this.binary = binary;
        this.jobs = jobs;
        this.connectTimeoutSeconds = connectTimeoutSeconds;
    }

    /** @param snapshot an exported snapshot to dump in ({@code --snapshot}), or null for pg_dump's own */
    void run(SourceConnection source, Path target, Path spool, Duration progressInterval, String snapshot,
             LongConsumer progress) {
        Path stderr = spool.resolve("pg_dump.stderr");
        List<String> command = new java.util.ArrayList<>(List.of(binary.toString(), "--format=directory",
                "--compress=0", "--jobs=" + Math.max(1, jobs), "--no-password", "--file=" + target,
                "--host=" + source.host(), "--port=" + source.port(), "--username=" + source.user(),
                "--dbname=" + source.database()));
        if (snapshot != null) {
            command.add("--snapshot=" + snapshot);
        }
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(stderr.toFile());
        source.libpqEnvironment(pb.environment(), connectTimeoutSeconds);
        Process p = null;
        try {
            p = pb.start();
            while (!p.waitFor(progressInterval.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                progress.accept(SnapshotService.directorySize(target));
            }
            if (p.exitValue() != 0) {
                throw new BackupFailure("DUMP", "pg_dump exited with " + p.exitValue() + ": " + tail(stderr));
            }
        } catch (IOException e) {
            throw new BackupFailure("DUMP", "cannot run " + binary + ": " + e.getMessage());
        } catch (InterruptedException e) {
            p.destroyForcibly();
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
