package dev.lifeboat.snapshot.service;

import dev.lifeboat.kit.pg.SslMode;
import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.content.ContentCodec;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * One physical FULL of a running cluster into a repository on the S3-compatible server, timed, with the peak RSS of
 * this JVM (the process that runs the physical path, pg_basebackup being its child). Not part of the build: run by
 * {@code deploy/bench/physical-backup.sh}, which builds the cluster and compares with pgBackRest.
 */
@EnabledIfSystemProperty(named = "lifeboat.bench", matches = "true")
class PhysicalBackupBench {

    @Test
    void physicalFullOfTheBenchCluster() throws Exception {
        int port = Integer.getInteger("lifeboat.bench.pg-port");
        String s3 = System.getProperty("lifeboat.bench.s3-endpoint");
        S3ObjectStore store = S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(s3)), "us-east-1", true,
                "local-access-key", "local-secret-key", S3Settings.MIN_PART_SIZE));
        store.ensureBucket("physical-bench");
        SourceConnection source = new SourceConnection("127.0.0.1", port, "postgres", "replicator", "replicator",
                SslMode.DISABLE, null);
        Path spool = Files.createTempDirectory("physical-bench");
        // what a worker does once at its start (Repositories); -Dlifeboat.bench.cold=true measures a cold JVM instead
        long w0 = System.nanoTime();
        if (!Boolean.getBoolean("lifeboat.bench.cold")) {
            ContentCodec.warmUp(ContentCodec.WARM_UP_ROUNDS);
        }
        System.out.printf("BENCH codec warm-up: %.1f s%n", (System.nanoTime() - w0) / 1e9);
        // -Dlifeboat.bench.chunk-sizes=min/avg/max,... (KiB; default Chunker.Sizes.BASE_BACKUP): one FULL per setting,
        // each into a repository of its own
        Chunker.Sizes base = Chunker.Sizes.BASE_BACKUP;
        String settings = System.getProperty("lifeboat.bench.chunk-sizes",
                base.min() / 1024 + "/" + base.avg() / 1024 + "/" + base.max() / 1024);
        for (String setting : settings.split(",")) {
            String[] kib = setting.split("/");
            Chunker.Sizes sizes = new Chunker.Sizes(Integer.parseInt(kib[0]) * 1024, Integer.parseInt(kib[1]) * 1024,
                    Integer.parseInt(kib[2]) * 1024);
            Repository into = Repository.openOrInit(store, "physical-bench", "bench/" + UUID.randomUUID(),
                    MasterKey.generate());
            String id = UUID.randomUUID().toString();
            long t0 = System.nanoTime();
            PhysicalBackup.checkReplication(source, 10, 600);
            Manifest m = new PhysicalBackup(Path.of(System.getProperty("lifeboat.bench.pg-basebackup")), 10,
                    Duration.ofSeconds(30), Duration.ofSeconds(2), new ChildProcesses(spool.resolve("children")))
                    .run(source, into.writer(sizes), BackupType.FULL, ChainContext.latestChain(id), spool, id, "bench",
                            Deadline.after(Instant.now(), Duration.ofHours(1), "bench"), b -> { });
            double secs = (System.nanoTime() - t0) / 1e9;
            String hwm = Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("VmHWM")).findFirst().orElse("VmHWM: ?").replaceAll("\\s+", " ");
            System.out.printf("BENCH physical FULL: %.1f s, chunks %s KiB, %d bytes read, %d bytes uploaded in %d "
                            + "chunks; peak RSS of the worker JVM %s; start %s stop %s%n", secs, setting,
                    m.stats().bytesRead(), m.stats().bytesUploaded(), m.stats().chunksUploaded(),
                    hwm.substring(hwm.indexOf(':') + 1).trim(), m.physical().startLsn(), m.physical().stopLsn());
        }
        SnapshotService.deleteRecursively(spool);
    }
}
