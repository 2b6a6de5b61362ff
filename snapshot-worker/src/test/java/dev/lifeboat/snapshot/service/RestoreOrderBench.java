package dev.lifeboat.snapshot.service;

import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the table of contents' order is worth to {@code pg_restore -j2} fed through named pipes, without the rest of
 * the restore: one directory dump of {@code lifeboat.bench.database}, then per round, each into a new database, a
 * restore from its local files, one through pipes with the dump's own toc.dat, and one through pipes with the toc
 * {@link DumpTocOrder} renumbered; the pipes fed by a thread each from the local files. Not part of the build:
 * {@code -Dlifeboat.bench=true -Dtest=RestoreOrderBench [-Dlifeboat.bench.database=bench_logical
 * -Dlifeboat.bench.rounds=3]} on the stack's PostgreSQL.
 */
@EnabledIfSystemProperty(named = "lifeboat.bench", matches = "true")
class RestoreOrderBench {
    private static final Path PG_BIN = Path.of("/usr/lib/postgresql/15/bin");

    @Test
    void pipesWithAndWithoutTheRenumberedTocNextToFiles() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        String database = System.getProperty("lifeboat.bench.database", "bench_logical");
        int rounds = Integer.getInteger("lifeboat.bench.rounds", 3);
        Path work = Files.createTempDirectory("restore-order-bench");
        try {
            Path dump = work.resolve("dump");
            run(stack, List.of(PG_BIN.resolve("pg_dump").toString(), "-h", "127.0.0.1", "-p",
                    String.valueOf(stack.pgPort()), "-U", "postgres", "-Fd", "-Z0", "-j2", "-f", dump.toString(),
                    database));
            Map<String, Long> sizes = PipedDumps.dataFileSizes(dump);
            byte[] toc = Files.readAllBytes(dump.resolve("toc.dat"));
            byte[] renumbered = DumpTocOrder.largestFirst(toc, sizes).orElseThrow(() ->
                    new IllegalStateException("the dump's toc.dat was not renumbered"));
            String target = database + "_order_bench";
            for (int round = 0; round < rounds; round++) {
                String load = Files.readString(Path.of("/proc/loadavg")).strip();
                double files = restore(stack, target, dump, null, work);
                double asDumped = restore(stack, target, dump, toc, work);
                double largestFirst = restore(stack, target, dump, renumbered, work);
                System.out.printf("BENCH round %d (load %s): files %.2f s, pipes as dumped %.2f s, pipes largest "
                        + "first %.2f s%n", round, load, files, asDumped, largestFirst);
            }
            Databases.dropDatabase(target);
        } finally {
            SnapshotService.deleteRecursively(work);
        }
    }

    /** Seconds of {@code pg_restore -j2} into a new {@code target}: from {@code dump}, or through pipes with {@code toc}. */
    private static double restore(LocalStack stack, String target, Path dump, byte[] toc, Path work) throws Exception {
        Databases.createDatabase(target);
        Path dir = dump;
        List<Thread> feeders = List.of();
        if (toc != null) {
            dir = work.resolve("piped");
            PipedDumps.copy(dump, toc, dir, true);
            feeders = PipedDumps.feed(dump, dir);
        }
        run(stack, List.of("sync"));
        long started = System.nanoTime();
        run(stack, List.of(PG_BIN.resolve("pg_restore").toString(), "-h", "127.0.0.1", "-p",
                String.valueOf(stack.pgPort()), "-U", "postgres", "--jobs=2", "--no-owner", "--exit-on-error", "-d",
                target, dir.toString()));
        double seconds = (System.nanoTime() - started) / 1e9;
        PipedDumps.join(feeders);
        return seconds;
    }

    private static void run(LocalStack stack, List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("PGPASSWORD", stack.pgSuperPassword());
        Process p = pb.start();
        if (!p.waitFor(30, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException(command.getFirst() + " still running after 30 min");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(command.getFirst() + " failed (exit " + p.exitValue() + ")");
        }
    }
}
