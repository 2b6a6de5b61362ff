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
import dev.lifeboat.repository.wal.WalNames;
import dev.lifeboat.snapshot.domain.BackupFailure;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.PgCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Physical base backups of a PostgreSQL cluster of its own (two schemas, ~40 MB of varied data) into a repository on
 * the real S3-compatible server: a FULL taken while a session keeps writing, then an INCREMENTAL after ~1% of the
 * rows of every table were updated at random places, restored from the repository into a new data directory on
 * which PostgreSQL starts and holds exactly the source's data.
 */
class PhysicalBackupTest {
    /** Ports of this test's clusters: the source and the one started on a restored backup (free ones by default). */
    static final int SOURCE_PORT = port("lifeboat.test.pgcluster-port");
    static final int RESTORED_PORT = port("lifeboat.test.pgcluster-restored-port");
    static final List<String> STABLE_TABLES = List.of("sales.customers", "sales.orders", "docs.documents",
            "docs.events");

    static PgCluster source;
    static Path work;
    static Repository repository;

    @BeforeAll
    static void cluster() throws IOException {
        LocalStack stack = LocalStack.ensureStarted();
        work = Files.createTempDirectory("physical-backup-test");
        source = PgCluster.at(stack.workDir().resolve("pgc-physical-backup-test"), SOURCE_PORT).start();
        source.execute("postgres", "drop schema if exists sales cascade; drop schema if exists docs cascade");
        source.execute("postgres", """
                create schema sales;
                create schema docs;
                create table sales.customers (id int primary key, name text, email text, balance numeric(12,2),
                    tags text[], created timestamptz);
                insert into sales.customers select g, 'customer ' || g, 'c' || g || '@example.org',
                    (g * 7.31) % 10000, array['t' || g % 7, 't' || g % 11], '2024-01-01'::timestamptz + g * interval '1 min'
                  from generate_series(1, 60000) g;
                create table sales.orders (id bigint primary key, customer int, amount numeric(12,2), placed timestamptz,
                    lines jsonb);
                insert into sales.orders select g, g % 60000 + 1, (g * 13.7) % 5000,
                    '2024-06-01'::timestamptz + g * interval '7 s',
                    jsonb_build_object('sku', 'sku-' || g % 997, 'qty', g % 9 + 1, 'note', md5(g::text))
                  from generate_series(1, 150000) g;
                create index on sales.orders (customer);
                create table sales.live (id bigserial primary key, at timestamptz default now(), payload text);
                create table docs.documents (id int primary key, title text, version int, body bytea);
                insert into docs.documents select g, 'document ' || g, 1,
                    decode(string_agg(md5(g::text || '-' || k), ''), 'hex')
                  from generate_series(1, 6000) g, generate_series(1, 150) k group by g;
                create table docs.events (id int primary key, kind text, detail jsonb);
                insert into docs.events select g, 'kind-' || g % 13,
                    jsonb_build_object('seq', g, 'ok', g % 2 = 0, 'vals', array[g, g * 2, g * 3])
                  from generate_series(1, 80000) g;
                """);
        // as a loaded table settles in production: hint bits and the visibility map set once, not by the backup
        source.execute("postgres", "vacuum (freeze, analyze)");
        source.execute("postgres", "checkpoint");
        S3ObjectStore s3 = S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(stack.s3Endpoint())),
                stack.s3Region(), true, stack.s3AccessKey(), stack.s3SecretKey(), S3Settings.MIN_PART_SIZE));
        String bucket = "physical-backup-test";
        s3.ensureBucket(bucket);
        repository = Repository.openOrInit(s3, bucket, "physical/" + UUID.randomUUID(), MasterKey.generate());
    }

    @AfterAll
    static void cleanUp() {
        if (source != null) {
            source.destroy();
        }
        SnapshotService.deleteRecursively(work);
    }

    @Test
    void incrementalAfterScatteredUpdatesUploadsLittleAndRestoresIntoAClusterThatStarts() throws Exception {
        Manifest full;
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicLong written = new AtomicLong();
        Thread writer = Thread.ofVirtual().start(() -> keepWriting(writing, written));
        try {
            full = backup(BackupType.FULL, replicator());
        } finally {
            writing.set(false);
            writer.join();
        }
        assertThat(written.get()).as("rows written while the FULL ran").isPositive();

        // ~1% of the rows of every table, at random places
        source.execute("postgres", """
                update sales.customers set balance = balance + 1 where random() < 0.01;
                update sales.orders set amount = amount + 1 where random() < 0.01;
                update docs.documents set version = version + 1 where random() < 0.01;
                update docs.events set kind = kind || '!' where random() < 0.01;
                """);
        Map<String, String> expected = contents(source, STABLE_TABLES);
        Manifest incremental = backup(BackupType.INCREMENTAL, replicator());

        assertThat(full.type()).isEqualTo(BackupType.FULL);
        assertThat(incremental.type()).isEqualTo(BackupType.INCREMENTAL);
        assertThat(incremental.chainId()).isEqualTo(full.chainId());
        assertThat(incremental.files()).extracting(Manifest.FileEntry::path).containsExactly(Manifest.BASE_TAR);
        Manifest.Physical p = incremental.physical();
        assertThat(p.timeline()).isEqualTo(1);
        assertThat(WalNames.parseLsn(p.stopLsn())).isGreaterThan(WalNames.parseLsn(p.startLsn()));
        assertThat(p.startWalSegment()).isEqualTo(WalNames.segmentOf(1, WalNames.parseLsn(p.startLsn()),
                WalNames.DEFAULT_SEGMENT_SIZE));
        assertThat(WalNames.parseLsn(p.startLsn())).isGreaterThan(WalNames.parseLsn(full.physical().stopLsn()));
        assertThat(p.systemIdentifier()).isEqualTo(systemIdentifier(source)).isEqualTo(full.physical()
                .systemIdentifier());
        assertThat(p.pgVersion()).isEqualTo("15");
        assertThat(p.startTime()).isNotNull().isBeforeOrEqualTo(p.stopTime());
        double share = (double) incremental.stats().bytesUploaded() / full.stats().bytesUploaded();
        System.out.printf("physical FULL: %d bytes read, %d uploaded; INCREMENTAL after 1%% scattered updates: %d "
                        + "read, %d uploaded (%.1f%% of the FULL's upload)%n", full.stats().bytesRead(),
                full.stats().bytesUploaded(), incremental.stats().bytesRead(), incremental.stats().bytesUploaded(),
                share * 100);
        // a 1% random update touches about half the heap pages of a table of ~70 rows per page (and the WAL segment
        // the base backup carries is new): what dedups is what no update touched, here the documents' TOAST data.
        // With the base backup's chunks (2 MiB average) this run measures ~47%; 512 KiB chunks gave ~41.5% and 64 KiB
        // ~40%: the page churn decides, the chunk size adds a little, for a quarter of the objects.
        assertThat(share).as("share of the FULL's upload that the INCREMENTAL uploaded").isLessThan(0.55);

        PgCluster restored = restore(incremental);
        try {
            assertThat(contents(restored, STABLE_TABLES)).isEqualTo(expected);
            assertThat(systemIdentifier(restored)).isEqualTo(p.systemIdentifier());
        } finally {
            restored.destroy();
        }
    }

    @Test
    void baseBackupStillRunningAtTheDeadlineIsKilledWithItsGroupAndLeavesNoBackup() throws Exception {
        Path spool = Files.createDirectories(work.resolve(UUID.randomUUID().toString()));
        String backupId = UUID.randomUUID().toString();
        Instant start = Instant.now();
        BackupFailure failure = catchThrowableOfType(BackupFailure.class, () -> new PhysicalBackup(
                PgCluster.binDir().resolve("pg_basebackup"), 5, Duration.ofSeconds(30), Duration.ofMillis(100),
                new ChildProcesses(spool.resolve("children")))
                .run(replicator(), repository.writer(Chunker.Sizes.BASE_BACKUP), BackupType.FULL,
                        ChainContext.latestChain(backupId), spool, backupId, "15",
                        Deadline.after(start, Duration.ofMillis(700), "maxDuration of policy 'tight'"), bytes -> { }));
        assertThat(failure.stage()).isEqualTo("DUMP");
        assertThat(failure.getMessage()).contains("was stopped at the maximum backup duration PT0.7S "
                + "(maxDuration of policy 'tight')", "Nothing was kept as a backup");
        assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(10));
        assertThat(repository.findManifest(backupId)).isEmpty();
        assertThat(ProcessHandle.allProcesses().filter(h -> h.info().commandLine().orElse("")
                .contains("--label=" + PgDump.applicationName(backupId)))).isEmpty();
    }

    @Test
    void roleWithoutReplicationOrPgHbaLineFailsSayingWhatToChange() {
        source.execute("postgres", """
                drop role if exists reader; create role reader login password 'reader';
                grant pg_read_all_data to reader;
                drop role if exists nohba; create role nohba login replication password 'nohba';
                """);
        SourceConnection reader = new SourceConnection("127.0.0.1", SOURCE_PORT, "postgres", "reader", "reader",
                SslMode.DISABLE, null);
        BackupFailure noReplication = catchThrowableOfType(BackupFailure.class, () -> backup(BackupType.FULL, reader));
        assertThat(noReplication.stage()).isEqualTo("CONNECT");
        assertThat(noReplication.getMessage()).contains("role 'reader'", "lacks the REPLICATION attribute",
                "ALTER ROLE \"reader\" REPLICATION");

        SourceConnection nohba = new SourceConnection("127.0.0.1", SOURCE_PORT, "postgres", "nohba", "nohba",
                SslMode.DISABLE, null);
        BackupFailure noHba = catchThrowableOfType(BackupFailure.class, () -> backup(BackupType.FULL, nohba));
        assertThat(noHba.stage()).isEqualTo("CONNECT");
        assertThat(noHba.getMessage()).contains("refuses replication connections of role 'nohba'",
                "host replication nohba");
    }

    @Test
    void walRecycledBeforeTheBaseBackupEndsFailsNamingWalKeepSize() {
        // pg_basebackup is held still (SIGSTOP) while the server writes and checkpoints past the backup's start,
        // as heavy writes during a long backup do; -X fetch then asks for WAL the server no longer has
        AtomicBoolean churned = new AtomicBoolean();
        BackupFailure failure = catchThrowableOfType(BackupFailure.class, () -> backup(BackupType.FULL, replicator(),
                bytes -> {
                    if (churned.getAndSet(true)) {
                        return;
                    }
                    List<ProcessHandle> tools = ProcessHandle.current().descendants()
                            .filter(h -> h.info().command().orElse("").endsWith("pg_basebackup")).toList();
                    tools.forEach(h -> signal("STOP", h.pid()));
                    try {
                        for (int i = 0; i < 3; i++) {
                            source.execute("postgres", "insert into sales.live (payload) select md5(g::text) "
                                    + "from generate_series(1, 200) g; select pg_switch_wal(); checkpoint");
                        }
                    } finally {
                        tools.forEach(h -> signal("CONT", h.pid()));
                    }
                }));
        assertThat(churned).as("the backup ran long enough to be held").isTrue();
        assertThat(failure).as("the backup fails").isNotNull();
        // pg_basebackup prints the server's "already removed" error, or, when it reads the stream's end first, only
        // that the stream ended early: the failure names the cause either way
        assertThat(failure.getMessage()).contains("recycled", "wal_keep_size", "127.0.0.1:" + SOURCE_PORT);
    }

    @Test
    void aStreamTheServerEndedEarlyNamesRecycledWalAndTheServerLog() {
        SourceConnection source = replicator();
        BackupFailure f = PhysicalBackup.failure(source, 1, "pg_basebackup: write-ahead log start point: 0/C000028 "
                + "on timeline 1\npg_basebackup: error: COPY stream ended before last file was finished");
        assertThat(f.stage()).isEqualTo("DUMP");
        assertThat(f.getMessage()).contains("127.0.0.1:" + SOURCE_PORT, "stopped sending", "log", "recycled",
                "wal_keep_size", "COPY stream ended before last file was finished");
        assertThat(PhysicalBackup.failure(source, 1, "pg_basebackup: error: something else").getMessage())
                .contains("exited with 1").doesNotContain("wal_keep_size");
    }

    private static void signal(String signal, long pid) {
        try {
            new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start().waitFor();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The port a system property names, else one free now. */
    static int port(String property) {
        Integer set = Integer.getInteger(property);
        if (set != null) {
            return set;
        }
        return dev.lifeboat.testsupport.ServiceProcess.freePort();
    }

    private static SourceConnection replicator() {
        return new SourceConnection("127.0.0.1", SOURCE_PORT, "postgres", PgCluster.REPLICATION_USER,
                PgCluster.REPLICATION_PASSWORD, SslMode.DISABLE, null);
    }

    private static Manifest backup(BackupType type, SourceConnection connection) throws IOException {
        return backup(type, connection, bytes -> { });
    }

    private static Manifest backup(BackupType type, SourceConnection connection,
                                   java.util.function.LongConsumer progress) throws IOException {
        PhysicalBackup.checkReplication(connection, 5, 60);
        Path spool = Files.createDirectories(work.resolve(UUID.randomUUID().toString()));
        String backupId = UUID.randomUUID().toString();
        long started = System.nanoTime();
        Manifest m = new PhysicalBackup(PgCluster.binDir().resolve("pg_basebackup"), 5, Duration.ofSeconds(30),
                Duration.ofMillis(500), new ChildProcesses(spool.resolve("children")))
                .run(connection, repository.writer(Chunker.Sizes.BASE_BACKUP), type, ChainContext.latestChain(backupId),
                        spool, backupId, "15", Deadline.after(Instant.now(), Duration.ofMinutes(2), "the test's limit"),
                        progress);
        System.out.printf("physical %s: %d ms%n", type, (System.nanoTime() - started) / 1_000_000);
        return m;
    }

    /** Restores the backup's base.tar from the repository, unpacks it into a new data directory and starts it. */
    private static PgCluster restore(Manifest manifest) throws IOException, InterruptedException {
        Path home = source.home().resolveSibling(source.home().getFileName() + "-restored");
        SnapshotService.deleteRecursively(home);
        Path tarDir = work.resolve("restored-tar");
        repository.reader().restore(manifest, tarDir);
        Files.createDirectories(home.resolve("data"));
        Files.move(tarDir.resolve(Manifest.BASE_TAR), home.resolve(Manifest.BASE_TAR));
        if ("root".equals(System.getProperty("user.name"))) {
            new ProcessBuilder("chown", "-R", "postgres:postgres", home.toString()).inheritIO().start().waitFor();
        }
        PgCluster.run(List.of("tar", "-xf", home.resolve(Manifest.BASE_TAR).toString(), "-C",
                home.resolve("data").toString()), 60);
        PgCluster.run(List.of("chmod", "700", home.resolve("data").toString()), 10);
        Files.delete(home.resolve(Manifest.BASE_TAR));
        return PgCluster.at(home, RESTORED_PORT).start();
    }

    private static void keepWriting(AtomicBoolean writing, AtomicLong written) {
        try (Connection c = source.connect("postgres"); Statement st = c.createStatement()) {
            while (writing.get()) {
                st.execute("insert into sales.live (payload) select md5(random()::text) from generate_series(1, 50)");
                written.addAndGet(50);
                Thread.sleep(5);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Row count and content hash of each table, in primary-key order. */
    private static Map<String, String> contents(PgCluster cluster, List<String> tables) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Connection c = cluster.connect("postgres"); Statement st = c.createStatement()) {
            for (String table : tables) {
                try (ResultSet rs = st.executeQuery("select count(*), md5(coalesce(string_agg(md5(t::text), '' "
                        + "order by id), '')) from " + table + " t")) {
                    rs.next();
                    out.put(table, rs.getLong(1) + " rows, " + rs.getString(2));
                }
            }
        }
        return out;
    }

    private static String systemIdentifier(PgCluster cluster) throws SQLException {
        try (Connection c = cluster.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select system_identifier::text from pg_control_system()")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
