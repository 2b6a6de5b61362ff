package dev.lifeboat.snapshot.service;

import dev.lifeboat.kit.pg.SslMode;
import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The logical path's data movement without the event hops, next to the bare tools at the same moment, several
 * rounds interleaved so that a shared machine's load falls on both alike: {@code pg_dump -Fc -Z0 | zstd -1} next to
 * pg_dump streaming into a repository on the S3-compatible server (with and without the table fingerprints), and
 * {@code pg_restore -j2} of a local dump next to pg_restore fed through pipes from the repository. Not part of the
 * build: {@code -Dlifeboat.bench=true -Dtest=LogicalPathBench} on the stack's PostgreSQL, database
 * {@code lifeboat.bench.database} (deploy/bench/logical.sh creates one).
 */
@EnabledIfSystemProperty(named = "lifeboat.bench", matches = "true")
class LogicalPathBench {
    private static final Path PG_ROOT = Path.of("/usr/lib/postgresql");

    @Test
    void logicalPathNextToTheBareTools() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        String database = System.getProperty("lifeboat.bench.database", "bench_logical");
        int rounds = Integer.getInteger("lifeboat.bench.rounds", 2);
        String what = System.getProperty("lifeboat.bench.what", "backup,fingerprints,restore");
        S3ObjectStore store = S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(stack.s3Endpoint())),
                stack.s3Region(), true, stack.s3AccessKey(), stack.s3SecretKey(), S3Settings.MIN_PART_SIZE));
        store.ensureBucket("logical-bench");
        // as the services use it: a loaded machine's S3 server drops a request now and then
        dev.lifeboat.repository.blob.ObjectStore retrying = new dev.lifeboat.repository.blob.RetryingObjectStore(store);
        Path work = Files.createTempDirectory("logical-bench");
        SourceConnection source = new SourceConnection("127.0.0.1", stack.pgPort(), database, "postgres",
                stack.pgSuperPassword(), SslMode.DISABLE, null);
        Path pgDump = PgTools.pgDumpFor(PG_ROOT, 15);
        Path pgRestore = PgTools.toolFor(PG_ROOT, 15, "pg_restore").orElseThrow();
        long warmup = Long.getLong("lifeboat.bench.warmup-bytes", 0);
        if (warmup > 0) {
            // as snapshot-worker does at start
            long cpu0 = cpuMillis(ProcessHandle.current().pid());
            dev.lifeboat.repository.content.ContentCodec.warmUp(Integer.getInteger("lifeboat.bench.codec-rounds",
                    dev.lifeboat.repository.content.ContentCodec.WARM_UP_ROUNDS));
            DataPathWarmup.Result r = DataPathWarmup.run(work.resolve("warmup"), warmup);
            System.out.printf("BENCH warm-up of %d MiB: %d ms, CPU %d ms%n", warmup >> 20, r.millis(),
                    cpuMillis(ProcessHandle.current().pid()) - cpu0);
        }
        List<String> lines = new ArrayList<>();
        Manifest last = null;
        Repository lastRepo = null;
        for (int round = 0; round < rounds; round++) {
            String load = Files.readString(Path.of("/proc/loadavg")).strip();
            double bare = timed(() -> shell("PGPASSWORD=postgres " + pgDump + " -h 127.0.0.1 -p " + stack.pgPort()
                    + " -U postgres --format=custom --compress=0 " + database + " | zstd -q -1 > " + work
                    + "/pipe.zst"));
            Files.deleteIfExists(work.resolve("pipe.zst"));
            StringBuilder line = new StringBuilder(String.format("round %d (load %s): pg_dump|zstd %.2f s", round,
                    load, bare));
            if (what.contains("backup")) {
                Repository repo = Repository.openOrInit(retrying, "logical-bench", "bench/" + UUID.randomUUID(),
                        MasterKey.generate());
                Manifest[] m = new Manifest[1];
                long cpu0 = cpuMillis(ProcessHandle.current().pid());
                long s3cpu0 = s3Pid() > 0 ? cpuMillis(s3Pid()) : 0;
                long pgCpu0 = serverCpuMillis(database);
                double ours = timed(() -> m[0] = backup(repo, source, pgDump, work, false));
                line.append(String.format(", ours %.2f s (%.2fx; CPU of this JVM %d ms, of the S3 server %d ms, of "
                                + "the PostgreSQL server %d ms)", ours, ours / bare,
                        cpuMillis(ProcessHandle.current().pid()) - cpu0, s3Pid() > 0 ? cpuMillis(s3Pid()) - s3cpu0 : -1,
                        serverCpuMillis(database) - pgCpu0));
                last = m[0];
                lastRepo = repo;
            }
            if (what.contains("fingerprints")) {
                Repository repo = Repository.openOrInit(retrying, "logical-bench", "bench/" + UUID.randomUUID(),
                        MasterKey.generate());
                long cpu0 = cpuMillis(ProcessHandle.current().pid());
                long pgCpu0 = serverCpuMillis(database);
                double ours = timed(() -> backup(repo, source, pgDump, work, true));
                line.append(String.format(", ours with fingerprints %.2f s (%.2fx; CPU of this JVM %d ms, of the "
                                + "PostgreSQL server %d ms)", ours, ours / bare,
                        cpuMillis(ProcessHandle.current().pid()) - cpu0, serverCpuMillis(database) - pgCpu0));
            }
            if (what.contains("restore") && last != null) {
                Path dump = work.resolve("bare-dump");
                shell("PGPASSWORD=postgres " + pgDump + " -h 127.0.0.1 -p " + stack.pgPort()
                        + " -U postgres --format=directory --compress=0 --jobs=2 -f " + dump + " " + database);
                Databases.dropDatabase("bench_restore_bare");
                Databases.execute("postgres", "create database bench_restore_bare template template0");
                double bareRestore = timed(() -> shell("PGPASSWORD=postgres " + pgRestore + " -h 127.0.0.1 -p "
                        + stack.pgPort() + " -U postgres --format=directory --jobs=2 --no-owner --exit-on-error "
                        + "-d bench_restore_bare " + dump));
                Databases.dropDatabase("bench_restore_bare");
                SnapshotService.deleteRecursively(dump);
                Databases.dropDatabase("bench_restore_ours");
                Databases.execute("postgres", "create database bench_restore_ours template template0");
                Manifest manifest = last;
                Repository repo = lastRepo;
                double ours = timed(() -> restore(repo, manifest, pgRestore, stack.pgPort(), work));
                Databases.dropDatabase("bench_restore_ours");
                line.append(String.format("; pg_restore -j2 %.2f s, ours %.2f s (%.2fx)", bareRestore, ours,
                        ours / bareRestore));
                if (what.contains("whole")) {
                    Databases.execute("postgres", "create database bench_restore_ours template template0");
                    long[] fetched = new long[1];
                    double whole = timed(() -> fetched[0] = restoreWhole(repo, manifest, pgRestore, stack.pgPort(),
                            work));
                    Databases.dropDatabase("bench_restore_ours");
                    line.append(String.format(", fetched whole first %.2f s (%.2fx; fetch %d ms)", whole,
                            whole / bareRestore, fetched[0]));
                }
            }
            System.out.println("BENCH " + line);
            lines.add(line.toString());
        }
        lines.forEach(l -> System.out.println("BENCH " + l));
        SnapshotService.deleteRecursively(work);
    }

    private static Manifest backup(Repository repo, SourceConnection source, Path pgDump, Path work,
                                   boolean fingerprints) throws Exception {
        Path spool = Files.createDirectories(work.resolve("spool-" + UUID.randomUUID()));
        String backupId = UUID.randomUUID().toString();
        PgDump dump = new PgDump(pgDump, 2, 10, Duration.ofMinutes(1), Duration.ofSeconds(30),
                new ChildProcesses(spool.resolve("children")));
        Deadline deadline = Deadline.after(Instant.now(), Duration.ofHours(1), "bench");
        try {
            if (fingerprints) {
                try (BackupFingerprinter f = BackupFingerprinter.open(source, 10, deadline,
                        pgDump.resolveSibling("pg_restore"))) {
                    try (PgDump.Running running = dump.start(source, spool.resolve("dump"), spool,
                            Duration.ofSeconds(1), f.snapshotId(), backupId, deadline, b -> { }, f)) {
                        return repo.writer(Chunker.Sizes.DUMP).readers(running.jobs()).writeStreamed(running.files(),
                                BackupType.FULL, ChainContext.latestChain(backupId), f::fingerprints).manifest();
                    }
                }
            }
            long t0 = System.nanoTime();
            try (PgDump.Running running = dump.start(source, spool.resolve("dump"), spool, Duration.ofSeconds(1),
                    null, backupId, deadline, b -> { })) {
                long[] dumped = new long[1];
                running.outcome.thenRun(() -> dumped[0] = System.nanoTime());
                Manifest m = repo.writer(Chunker.Sizes.DUMP).readers(running.jobs()).writeStreamed(running.files(),
                        BackupType.FULL, ChainContext.latestChain(backupId), () -> null).manifest();
                System.out.printf("BENCH pg_dump ended at %.2f s, the manifest written at %.2f s%n",
                        (dumped[0] - t0) / 1e9, (System.nanoTime() - t0) / 1e9);
                return m;
            }
        } finally {
            SnapshotService.deleteRecursively(spool);
        }
    }

    /** The whole dump fetched into files, then pg_restore from them; returns the fetch's milliseconds. */
    private static long restoreWhole(Repository repo, Manifest manifest, Path pgRestore, int port, Path work)
            throws Exception {
        Path dumpDir = work.resolve("restore-" + UUID.randomUUID());
        try {
            long t0 = System.nanoTime();
            repo.reader(Integer.getInteger("lifeboat.bench.fetch-parallelism", 4)).restore(manifest, dumpDir, f -> true);
            long fetchMillis = (System.nanoTime() - t0) / 1_000_000;
            Process p = new ProcessBuilder("bash", "-c", "PGPASSWORD=postgres " + pgRestore + " -h 127.0.0.1 -p "
                    + port + " -U postgres --format=directory --jobs=2 --no-owner --exit-on-error "
                    + "-d bench_restore_ours " + dumpDir).inheritIO().start();
            if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException("pg_restore failed");
            }
            return fetchMillis;
        } finally {
            SnapshotService.deleteRecursively(dumpDir);
        }
    }

    /** What RestoreDatabase does between fetching the table of contents and pg_restore's end. */
    private static void restore(Repository repo, Manifest manifest, Path pgRestore, int port, Path work)
            throws Exception {
        Path dumpDir = work.resolve("restore-" + UUID.randomUUID());
        repo.reader().restore(manifest, dumpDir, f -> !PgRestoreFeed.piped(f));
        try (PgRestoreFeed feed = PgRestoreFeed.prepare(repo, manifest, dumpDir, 2000).orElseThrow()) {
            Process p = new ProcessBuilder("bash", "-c", "PGPASSWORD=postgres " + pgRestore + " -h 127.0.0.1 -p "
                    + port + " -U postgres --format=directory --jobs=2 --no-owner --exit-on-error "
                    + "-d bench_restore_ours " + dumpDir).inheritIO().start();
            feed.start();
            if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException("pg_restore failed");
            }
            if (!feed.unfed().isEmpty() || feed.failure().isPresent()) {
                throw new IllegalStateException("feed: " + feed.unfed() + " " + feed.failure());
            }
        } finally {
            SnapshotService.deleteRecursively(dumpDir);
        }
    }

    /** User plus system CPU of a process, from /proc. */
    private static long cpuMillis(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10;
        } catch (Exception e) {
            return -1;
        }
    }

    /**
     * CPU of the PostgreSQL server: its postmaster's own and that of its ended children (the sessions of a finished
     * backup), from /proc; the server must run on this machine.
     */
    private static long serverCpuMillis(String database) {
        try (var c = Databases.connect(database); var st = c.createStatement();
             var rs = st.executeQuery("select pg_backend_pid()")) {
            rs.next();
            String stat = Files.readString(Path.of("/proc/" + rs.getInt(1) + "/stat"));
            long postmaster = Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
            Thread.sleep(300); // the sessions just closed are reaped, their CPU added to the postmaster's
            String own = Files.readString(Path.of("/proc/" + postmaster + "/stat"));
            String[] f = own.substring(own.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]))
                    * 10;
        } catch (Exception e) {
            return -1;
        }
    }

    private static long s3Pid() {
        return Long.getLong("lifeboat.bench.s3-pid", -1);
    }

    private interface Step {
        void run() throws Exception;
    }

    private static double timed(Step step) throws Exception {
        long t0 = System.nanoTime();
        step.run();
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void shell(String command) throws Exception {
        Process p = new ProcessBuilder("bash", "-o", "pipefail", "-c", command).inheritIO().start();
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("failed: " + command);
        }
    }
}
