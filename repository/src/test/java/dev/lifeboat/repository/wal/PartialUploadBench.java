package dev.lifeboat.repository.wal;

import dev.lifeboat.repository.blob.ForwardingObjectStore;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What an archiver uploads for a segment written slowly, one partial interval after another: the whole prefix each
 * time (the way before pieces) next to {@link WalArchive.PartialWriter}, on the S3-compatible server of the local
 * stack. Not part of the build: {@code ./mvnw -pl repository surefire:test -Dtest=PartialUploadBench
 * -Dlifeboat.bench=true} (options {@code -Dlifeboat.bench.step-bytes} (8192, what the server writes per interval)
 * and {@code -Dlifeboat.bench.steps} (512)). Prints bytes and requests uploaded, the wall time and this JVM's CPU.
 */
@EnabledIfSystemProperty(named = "lifeboat.bench", matches = "true")
class PartialUploadBench {
    private static final String BUCKET = "lifeboat-wal-bench";
    private static final int SEGMENT = 16 * 1024 * 1024;

    @Test
    void piecesNextToTheWholePrefix() {
        int step = Integer.getInteger("lifeboat.bench.step-bytes", 8192);
        int steps = Math.min(Integer.getInteger("lifeboat.bench.steps", 512), SEGMENT / step);
        LocalStack stack = LocalStack.ensureStarted();
        ObjectStore s3 = S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(stack.s3Endpoint())),
                "us-east-1", true, "local-access-key", "local-secret-key", S3Settings.MIN_PART_SIZE));
        s3.ensureBucket(BUCKET);
        // WAL-like content: records that compress about as real WAL does (a third random)
        byte[] wal = new byte[SEGMENT];
        Random random = new Random(42);
        for (int i = 0; i < SEGMENT; i += 96) {
            byte[] record = new byte[32];
            random.nextBytes(record);
            System.arraycopy(record, 0, wal, i, Math.min(32, SEGMENT - i));
        }
        for (String way : new String[] {"whole prefix", "pieces"}) {
            AtomicLong bytes = new AtomicLong();
            AtomicLong puts = new AtomicLong();
            ObjectStore counting = new ForwardingObjectStore(s3) {
                @Override
                public void put(String bucket, String key, byte[] content) {
                    bytes.addAndGet(content.length);
                    puts.incrementAndGet();
                    super.put(bucket, key, content);
                }
            };
            WalArchive archive = Repository.init(counting, BUCKET, "bench/" + UUID.randomUUID(),
                    MasterKey.generate()).wal(SEGMENT);
            String segment = WalNames.segmentName(1, 1, SEGMENT);
            WalArchive.PartialWriter writer = archive.partialWriter(segment);
            long before = bytes.get();
            long putsBefore = puts.get();
            long cpu0 = cpuNanos();
            long t0 = System.nanoTime();
            for (int i = 1; i <= steps; i++) {
                if (way.equals("pieces")) {
                    writer.write(wal, i * step);
                } else {
                    archive.putPartial(segment, wal, i * step);
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double cpu = (cpuNanos() - cpu0) / 1e9;
            assertThat(Arrays.copyOf(archive.fetch(segment).orElseThrow(), steps * step))
                    .isEqualTo(Arrays.copyOf(wal, steps * step));
            System.out.printf("BENCH %-12s %d intervals of %d bytes (%d bytes of WAL): %d bytes in %d PUTs, %.1f s, "
                            + "CPU of this JVM %.1f s%n", way, steps, step, (long) steps * step, bytes.get() - before,
                    puts.get() - putsBefore, seconds, cpu);
        }
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }
}
