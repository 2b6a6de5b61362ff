package dev.lifeboat.snapshot.service;

import dev.lifeboat.snapshot.domain.BackupFailure;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Picks the pg_dump that matches the server: the same major version when installed, else the oldest newer one
 * (pg_dump reads older servers, never newer ones).
 */
final class PgTools {
    private PgTools() {
    }

    static Path pgDumpFor(Path installRoot, int serverMajor) {
        return toolFor(installRoot, serverMajor, "pg_dump")
                .orElseThrow(() -> new BackupFailure("DUMP", "no pg_dump for PostgreSQL " + serverMajor
                        + " on this worker (looked in " + installRoot + "/<major>/bin); install the PostgreSQL "
                        + serverMajor + " client (Debian: postgresql-client-" + serverMajor + ")"));
    }

    /** {@code tool} (pg_dump, pg_restore) of the server's major version, else of the oldest newer one installed. */
    static Optional<Path> toolFor(Path installRoot, int serverMajor, String tool) {
        Path exact = installRoot.resolve(String.valueOf(serverMajor)).resolve("bin").resolve(tool);
        if (Files.isExecutable(exact)) {
            return Optional.of(exact);
        }
        return newerMajors(installRoot, serverMajor, tool);
    }

    private static Optional<Path> newerMajors(Path root, int serverMajor, String tool) {
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(d -> d.getFileName().toString().matches("\\d+"))
                    .filter(d -> Integer.parseInt(d.getFileName().toString()) > serverMajor)
                    .sorted(Comparator.comparingInt(d -> Integer.parseInt(d.getFileName().toString())))
                    .map(d -> d.resolve("bin").resolve(tool))
                    .filter(Files::isExecutable)
                    .findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static final int VERSION_TIMEOUT_SECONDS = 10;

    /** The version line of each pg_dump asked about: it does not change while the worker runs. */
    private static final java.util.Map<Path, String> VERSIONS = new java.util.concurrent.ConcurrentHashMap<>();

    static String version(Path pgDump) {
        String known = VERSIONS.get(pgDump);
        if (known != null) {
            return known;
        }
        String version = askVersion(pgDump);
        if (!version.equals("unknown")) {
            VERSIONS.put(pgDump, version);
        }
        return version;
    }

    private static String askVersion(Path pgDump) {
        try {
            ProcessBuilder pb = new ProcessBuilder(pgDump.toString(), "--version").redirectErrorStream(true);
            SourceConnection.withoutPlatformEnvironment(pb.environment());
            Process p = pb.start();
            // one short line, well within the pipe's buffer: read after the exit, so a hung program cannot hold us
            if (!p.waitFor(VERSION_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "unknown";
            }
            return new String(p.getInputStream().readAllBytes()).trim();
        } catch (IOException e) {
            return "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }
}
