package dev.lifeboat.snapshot.service;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A directory-format dump on local disk handed to pg_restore as a restore streams it: a copy with a table of contents
 * of the caller's choosing, its table data files named pipes, each fed whole from the original by a thread of its
 * own once pg_restore opens it.
 */
final class PipedDumps {
    private PipedDumps() {
    }

    /** The size of each table data file ({@code 1234.dat}) of {@code dump}, as the manifest gives them. */
    static Map<String, Long> dataFileSizes(Path dump) throws IOException {
        Map<String, Long> sizes = new HashMap<>();
        try (Stream<Path> files = Files.list(dump)) {
            for (Path f : files.filter(f -> f.getFileName().toString().matches("\\d+\\.dat")).toList()) {
                sizes.put(f.getFileName().toString(), Files.size(f));
            }
        }
        return sizes;
    }

    /**
     * {@code dump} copied into {@code dir} (emptied first) with {@code toc} as its toc.dat; its table data files named
     * pipes when {@code pipes}, copies otherwise.
     */
    static void copy(Path dump, byte[] toc, Path dir, boolean pipes) throws Exception {
        SnapshotService.deleteRecursively(dir);
        Files.createDirectories(dir);
        Map<String, Long> data = dataFileSizes(dump);
        try (Stream<Path> files = Files.list(dump)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (!name.equals("toc.dat") && !(pipes && data.containsKey(name))) {
                    Files.copy(f, dir.resolve(name));
                }
            }
        }
        Files.write(dir.resolve("toc.dat"), toc);
        if (pipes && !data.isEmpty()) {
            List<String> mkfifo = new ArrayList<>(List.of("mkfifo", "-m", "600", "--"));
            data.keySet().forEach(name -> mkfifo.add(dir.resolve(name).toString()));
            Process p = new ProcessBuilder(mkfifo).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(1, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException("mkfifo failed: " + out);
            }
        }
    }

    /** A thread per table data file of {@code dump}, feeding it whole into its pipe in {@code dir}. */
    static List<Thread> feed(Path dump, Path dir) throws IOException {
        List<Thread> feeders = new ArrayList<>();
        for (String name : dataFileSizes(dump).keySet()) {
            Path pipe = dir.resolve(name);
            Path from = dump.resolve(name);
            feeders.add(Thread.ofPlatform().daemon().start(() -> {
                try (OutputStream out = new FileOutputStream(pipe.toFile())) {
                    Files.copy(from, out);
                } catch (IOException e) {
                    throw new IllegalStateException("feeding " + pipe, e);
                }
            }));
        }
        return feeders;
    }

    static void join(List<Thread> feeders) throws InterruptedException {
        for (Thread t : feeders) {
            t.join(TimeUnit.SECONDS.toMillis(30));
        }
    }
}
