package dev.lifeboat.snapshot.service;

import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.content.ContentCodec;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.SnapshotReader;

/**
 * The base backup part of a RestoreCluster on its own: a pg_basebackup tar ({@code lifeboat.bench.base-dir}/base.tar)
 * put into a repository on the S3-compatible server, then read back with 16 chunks in flight into {@code tar -x}
 * (what the restore did before, as the cluster's OS user when root) and into {@link TarExtractor}, alternately, twice
 * each, into {@code lifeboat.bench.out}. {@code sync} before each run, so that none pays for the one before. Not
 * part of the build: {@code -Dlifeboat.bench=true}.
 */
@EnabledIfSystemProperty(named = "lifeboat.bench", matches = "true")
class ClusterExtractBench {
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    @Test
    void baseBackupIntoTarAndIntoTheExtractor() throws Exception {
        String s3 = System.getProperty("lifeboat.bench.s3-endpoint");
        Path baseDir = Path.of(System.getProperty("lifeboat.bench.base-dir"));
        Path out = Path.of(System.getProperty("lifeboat.bench.out"));
        String osUser = System.getProperty("lifeboat.bench.os-user", "postgres");
        int writers = Integer.getInteger("lifeboat.bench.writers", 3);
        S3ObjectStore store = S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(s3)), "us-east-1", true,
                "local-access-key", "local-secret-key", S3Settings.MIN_PART_SIZE));
        store.ensureBucket("extract-bench");
        Repository repository = Repository.openOrInit(store, "extract-bench", "bench/" + UUID.randomUUID(),
                MasterKey.generate());
        ContentCodec.warmUp(ContentCodec.WARM_UP_ROUNDS);
        long t0 = System.nanoTime();
        Manifest m = repository.writer(Chunker.Sizes.BASE_BACKUP).write(baseDir, BackupType.FULL,
                ChainContext.latestChain(UUID.randomUUID().toString())).manifest();
        System.out.printf("BENCH upload of base.tar: %d MB in %.1f s%n", m.totalSize() / 1_000_000,
                (System.nanoTime() - t0) / 1e9);
        Optional<TarExtractor.Owner> owner = Optional.empty();
        if (ROOT) {
            UserPrincipalLookupService lookup = out.getFileSystem().getUserPrincipalLookupService();
            owner = Optional.of(new TarExtractor.Owner(lookup.lookupPrincipalByName(osUser),
                    lookup.lookupPrincipalByGroupName(osUser)));
        }
        for (int round = 1; round <= Integer.getInteger("lifeboat.bench.rounds", 2); round++) {
            Path tarInto = fresh(out.resolve("tar-" + round), owner);
            sync();
            long start = System.nanoTime();
            List<String> command = new ArrayList<>();
            if (ROOT) {
                command.addAll(List.of("runuser", "-u", osUser, "--"));
            }
            command.addAll(List.of("tar", "-x", "-b", "2048", "-B", "-f", "-", "-C", tarInto.toString()));
            Process tar = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try (OutputStream in = tar.getOutputStream()) {
                repository.reader(16).copy(m, "base.tar", in);
            }
            if (!tar.waitFor(5, TimeUnit.MINUTES) || tar.exitValue() != 0) {
                throw new IllegalStateException("tar -x failed");
            }
            System.out.printf("BENCH round %d: tar -x %.2f s%n", round, (System.nanoTime() - start) / 1e9);

            Path extractInto = fresh(out.resolve("extractor-" + round), Optional.empty());
            sync();
            start = System.nanoTime();
            TarExtractor.Stats stats;
            long chunkWait;
            boolean directIo;
            try (TarExtractor extractor = new TarExtractor(extractInto, owner, writers, Duration.ofMinutes(1),
                    Boolean.parseBoolean(System.getProperty("lifeboat.bench.direct-io", "true")));
                 SnapshotReader.FileStream in = repository.reader(16).open(m, "base.tar")) {
                stats = extractor.extract(in, extractInto, "base.tar");
                directIo = extractor.directIo();
                extractor.finish();
                chunkWait = in.waitNanos();
            }
            System.out.printf("BENCH round %d: extractor (%d writers, direct I/O " + directIo + ") %.2f s: %d files, %d MB; waiting for chunks "
                            + "%.2f s, for writers %.2f s, writers busy %.2f s summed%n", round, writers,
                    (System.nanoTime() - start) / 1e9, stats.files(), stats.bytes() / 1_000_000, chunkWait / 1e9,
                    stats.writerWaitNanos() / 1e9, stats.writeNanos() / 1e9);
            if (System.getProperty("lifeboat.bench.pg-bin") != null) {
                startAndStop(extractInto, osUser, round % 2 == 1 ? "fsync" : "syncfs");
            }
            ClusterRestorer.deleteRecursively(tarInto);
            ClusterRestorer.deleteRecursively(extractInto);
        }
        String hwm = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("VmHWM")).findFirst().orElse("VmHWM: ?").replaceAll("\\s+", " ");
        System.out.printf("BENCH peak RSS of the JVM %s%n", hwm.substring(hwm.indexOf(':') + 1).trim());
    }

    /**
     * Starts PostgreSQL on the extracted base backup (crash recovery from backup_label with the WAL the backup
     * brought) right after extraction, as a restore does, with {@code recovery_init_sync_method} set; timed until
     * pg_ctl says it accepts connections. Then stops it.
     */
    private static void startAndStop(Path data, String osUser, String syncMethod) throws Exception {
        Path bin = Path.of(System.getProperty("lifeboat.bench.pg-bin"));
        int port = Integer.getInteger("lifeboat.bench.pg-port", 24490);
        Path log = data.resolveSibling(data.getFileName() + ".log");
        Files.deleteIfExists(log);
        Files.createFile(log);
        if (ROOT) {
            Files.setOwner(log, log.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(osUser));
        }
        long start = System.nanoTime();
        run(osUser, bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", log.toString(), "-w", "-t", "300",
                "-o", "-p " + port + " -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c archive_mode=off "
                        + "-c recovery_init_sync_method=" + syncMethod, "start");
        System.out.printf("BENCH PostgreSQL start on the extracted files, recovery_init_sync_method=%s: %.2f s%n",
                syncMethod, (System.nanoTime() - start) / 1e9);
        run(osUser, bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "-w", "stop");
    }

    private static void run(String osUser, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        if (ROOT) {
            command.addAll(List.of("runuser", "-u", osUser, "--"));
        }
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).inheritIO().start();
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException(command + " failed");
        }
    }

    private static Path fresh(Path dir, Optional<TarExtractor.Owner> owner) throws Exception {
        ClusterRestorer.deleteRecursively(dir);
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        if (owner.isPresent()) {
            Files.setOwner(dir, owner.get().user());
        }
        return dir;
    }

    private static void sync() throws Exception {
        new ProcessBuilder("sync").inheritIO().start().waitFor(5, TimeUnit.MINUTES);
    }
}
