package dev.lifeboat.snapshot.service;

import dev.lifeboat.kit.pg.SslMode;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import dev.lifeboat.repository.snapshot.TableFingerprints;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;

/**
 * Fingerprints recorded while writes go on during the dump describe exactly what the dump holds: restored, every
 * table hashes to what was recorded, though the source has moved on.
 */
class BackupFingerprinterTest {

    @Test
    void fingerprintsTakenDuringWritesMatchTheRestoredDump() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        String source = "fp_src_" + UUID.randomUUID().toString().substring(0, 8);
        String restored = source.replace("fp_src_", "fp_dst_");
        Databases.createDatabase(source);
        Databases.loadSample(source, 1);
        Databases.execute(source, "create table public.busy (id bigserial primary key, n int not null); "
                + "insert into public.busy (n) select g from generate_series(1, 200000) g");
        Path spool = Files.createTempDirectory("fp-test");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong writes = new AtomicLong();
        Thread writer = Thread.ofPlatform().start(() -> {
            try (Connection c = Databases.connect(source); Statement st = c.createStatement()) {
                while (!stop.get()) {
                    st.execute("insert into public.busy (n) values (1); update public.busy set n = n + 1 where id = "
                            + (1 + writes.get() % 1000) + "; delete from shop.events where ctid = "
                            + "(select ctid from shop.events limit 1)");
                    writes.incrementAndGet();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            while (writes.get() < 20) {
                Thread.sleep(10);
            }
            TableFingerprints recorded;
            long writesBefore;
            Deadline limit = Deadline.after(java.time.Instant.now(), Duration.ofMinutes(5), "the test's limit");
            try (BackupFingerprinter fp = BackupFingerprinter.open("127.0.0.1", stack.pgPort(), source, "postgres",
                    stack.pgSuperPassword(), 10)) {
                writesBefore = writes.get();
                fp.start();
                new PgDump(Path.of("/usr/lib/postgresql/15/bin/pg_dump"), 2, 10, Duration.ofMinutes(1),
                        Duration.ofSeconds(30), new ChildProcesses(spool.resolve("children"))).run(new SourceConnection("127.0.0.1",
                        stack.pgPort(), source, "postgres", stack.pgSuperPassword(), SslMode.PREFER, null),
                        spool.resolve("dump"), spool, Duration.ofMillis(200), fp.snapshotId(), "fingerprint-test", limit,
                        bytes -> { });
                recorded = fp.await(limit);
            }
            assertThat(writes.get()).as("writes committed while the backup ran").isGreaterThan(writesBefore);
            stop.set(true);
            writer.join();

            Databases.createDatabase(restored);
            ProcessBuilder pb = new ProcessBuilder("/usr/lib/postgresql/15/bin/pg_restore", "--format=directory",
                    "--no-owner", "--exit-on-error", "--host=127.0.0.1", "--port=" + stack.pgPort(),
                    "--username=postgres", "--dbname=" + restored, spool.resolve("dump").toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT);
            pb.environment().put("PGPASSWORD", stack.pgSuperPassword());
            assertThat(pb.start().waitFor()).isZero();

            assertThat(recorded.method()).isEqualTo(TableHashes.METHOD);
            assertThat(recorded.tables()).extracting(TableFingerprints.Table::qualified)
                    .contains("public.busy", "shop.orders", "shop.events");
            assertThat(hashes(restored)).isEqualTo(recorded.tables());
            assertThat(hashes(source)).as("the source moved on after the snapshot").isNotEqualTo(recorded.tables());
        } finally {
            stop.set(true);
            writer.join();
            Databases.dropDatabase(source);
            Databases.dropDatabase(restored);
            try (Stream<Path> files = Files.walk(spool)) {
                files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
    }

    static List<TableFingerprints.Table> hashes(String database) throws Exception {
        try (Connection c = Databases.connect(database)) {
            c.setAutoCommit(false);
            TableHashes.pinTextForms(c);
            List<TableFingerprints.Table> out = new ArrayList<>();
            for (String[] t : TableHashes.tables(c)) {
                out.add(TableHashes.fingerprint(c, t[0], t[1]));
            }
            c.rollback();
            return out;
        }
    }
}
