package dev.lifeboat.e2e;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The {@code lifeboat} CLI run as a user runs it: a separate process of the packaged jar
 * (cli/target/lifeboat-cli.jar) against a {@link Platform}'s services, with a token in LIFEBOAT_TOKEN and no config
 * file of the user's.
 */
final class CliProcess {
    record Result(int exit, String stdout, String stderr) {
        JsonNode json() {
            try {
                return Platform.JSON.readTree(stdout);
            } catch (IOException e) {
                throw new AssertionError("not JSON (exit " + exit + "): " + stdout + "\nstderr: " + stderr, e);
            }
        }

        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    private CliProcess() {
    }

    static Path jar(Platform platform) {
        Path jar = platform.stack.repoRoot().resolve("cli/target/lifeboat-cli.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("no CLI jar at " + jar + ": package the cli module first");
        }
        return jar;
    }

    static Result run(Platform platform, String token, Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Dlifeboat.tty=false", "-jar",
                jar(platform).toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("LIFEBOAT_"));
        env.put("LIFEBOAT_SCHEDULER_URL", platform.schedulerUrl(""));
        env.put("LIFEBOAT_CATALOG_URL", platform.catalogUrl(""));
        env.put("LIFEBOAT_RECOVERY_URL", platform.coordinatorUrl(""));
        env.put("LIFEBOAT_SNAPSHOT_URL", platform.snapshotA.baseUrl());
        env.put("LIFEBOAT_CONFIG", platform.spoolRoot.resolve("cli-config.yaml").toString());
        if (token != null) {
            env.put("LIFEBOAT_TOKEN", token);
        }
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("lifeboat " + String.join(" ", args) + " did not end within " + timeout
                        + "\n" + out.getNow("") + err.getNow(""));
            }
            return new Result(p.exitValue(), out.get(), err.get());
        } catch (IOException | java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("running lifeboat " + String.join(" ", args) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String read(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
