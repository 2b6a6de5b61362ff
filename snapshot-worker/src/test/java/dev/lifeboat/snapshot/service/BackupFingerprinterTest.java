package dev.lifeboat.snapshot.service;

import dev.lifeboat.kit.pg.SslMode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.CopyRows;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.TableFingerprints;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;

/**
 * The fingerprints a backup takes from pg_dump's data files as they stream into the repository equal what the
 * checker computes on the restored database with COPY, whatever the types, the names and the session settings of
 * either server; and they describe exactly what the dump holds while writes go on during it.
 */
class BackupFingerprinterTest {
    private static final Path PG_DUMP = Path.of("/usr/lib/postgresql/15/bin/pg_dump");
    private static final Path PG_RESTORE = Path.of("/usr/lib/postgresql/15/bin/pg_restore");

    /**
     * Types whose text form depends on settings or needs escaping, odd names, and tables of every kind, one of them
     * an extension's (neither fingerprinted nor checked).
     */
    private static final String VARIED = """
            create table public.zoo (
              id int primary key, n numeric, t text, b bytea, j jsonb, arr text[], ts timestamptz, iv interval,
              f float8, r real, gone int, m money, d date, tm timetz,
              g int generated always as (id * 2) stored, tail text);
            alter table public.zoo drop column gone;
            insert into public.zoo (id, n, t, b, j, arr, ts, iv, f, r, m, d, tm, tail) values
              (1, 123456789.000000001, e'tab\\there\\nnewline\\\\back\\rslash', '\\x00ff0a5c'::bytea,
               '{"a": [1, 2.50, "x\\ty"], "b": null}', array['a b', null, 'c"d', e'e\\\\f'],
               '2026-03-01 12:34:56.789+05', '1 year 2 mons 3 days 04:05:06.7', 1.7976931348623157e308, 'NaN',
               12.34, '2026-01-31', '23:59:59.999999+02', 'ü ☃ 𝄞'),
              (2, 'NaN', '', '', 'null', '{}', '-infinity', '-1 day -00:00:01', '-Infinity', 3.4028235e38,
               -0.01, '0001-01-01', '00:00:00-12', '\\.'),
              (3, null, null, null, null, null, null, null, 4.9e-324, -0.0, null, null, null, null),
              (4, -1e-30, '\\N', '\\x5c4e'::bytea, '[]', array[]::text[], 'epoch', '0', 0.1, 1e-45, 0, 'infinity',
               null, e'two\\n\\nlines');
            create schema ODD;
            create table ODD."Table ""with"" spaces" (id int, "col name" text);
            insert into ODD."Table ""with"" spaces" values (1, 'x'), (2, 'y y');
            create table ODD."empty one" (x int);
            create table public.parted (k int, v text) partition by range (k);
            create table public.parted_low partition of public.parted for values from (0) to (100);
            create table public.parted_high partition of public.parted for values from (100) to (1000);
            insert into public.parted select g, 'v' || g from generate_series(1, 300) g;
            create table public.hashed (k int, v text) partition by hash (k);
            create table public.hashed_0 partition of public.hashed for values with (modulus 2, remainder 0);
            create table public.hashed_1 partition of public.hashed for values with (modulus 2, remainder 1);
            insert into public.hashed select g, 'h' || g from generate_series(1, 50) g;
            create table public.many as select g, md5(g::text) as h, g * 1.5 as x from generate_series(1, 60000) g;
            create table public.no_columns ();
            insert into public.no_columns default values;
            insert into public.no_columns default values;
            create table public.base (a int, b text);
            create table public.heir (own text) inherits (public.base);
            alter table public.base add column c int;
            insert into public.heir values (1, 'x', 'mine', 7), (2, null, 'more', null);
            insert into public.base values (10, 'parent', 3);
            create extension citext;
            create table public.of_extension (x int);
            insert into public.of_extension values (1);
            alter extension citext add table public.of_extension;
            """.replace("ODD", "\"odd \"\"schema\"\"\"");

    @Test
    void fingerprintsTakenFromTheDumpEqualTheCheckersOnTheRestoredDatabase() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        String source = "fpv_src_" + UUID.randomUUID().toString().substring(0, 8);
        String restored = source.replace("fpv_src_", "fpv_dst_");
        Path work = Files.createTempDirectory("fp-varied");
        try {
            Databases.createDatabase(source);
            Databases.execute(source, VARIED);
            // settings the text forms depend on, different on each side and from the pinned ones
            Databases.execute(source, "alter database " + source + " set timezone to 'America/New_York'; "
                    + "alter database " + source + " set intervalstyle to 'sql_standard'; "
                    + "alter database " + source + " set extra_float_digits to 0; "
                    + "alter database " + source + " set bytea_output to 'escape'; "
                    + "alter database " + source + " set datestyle to 'SQL, DMY'");
            Databases.createDatabase(restored);
            Databases.execute(restored, "alter database " + restored + " set timezone to 'Asia/Kathmandu'; "
                    + "alter database " + restored + " set intervalstyle to 'iso_8601'; "
                    + "alter database " + restored + " set datestyle to 'German'; "
                    + "alter database " + restored + " set search_path to 'odd \"schema\"', public");

            Backup backup = backUp(stack, source, work);
            TableFingerprints recorded = backup.tables();
            assertThat(recorded.method()).isEqualTo(CopyHashes.METHOD);
            assertThat(recorded.tables()).extracting(TableFingerprints.Table::qualified).containsExactlyInAnyOrder(
                    "public.zoo", "odd \"schema\".Table \"with\" spaces", "odd \"schema\".empty one",
                    "public.parted_low", "public.parted_high", "public.hashed_0", "public.hashed_1", "public.many",
                    "public.no_columns", "public.base", "public.heir");
            assertThat(recorded.table("odd \"schema\"", "empty one").orElseThrow().rows()).isZero();
            assertThat(recorded.table("odd \"schema\"", "empty one").orElseThrow().hash()).isEqualTo("0");
            assertThat(recorded.table("public", "zoo").orElseThrow().rows()).isEqualTo(4);
            assertThat(recorded.table("public", "parted_high").orElseThrow().rows()).isEqualTo(201);
            assertThat(recorded.table("public", "many").orElseThrow().rows()).isEqualTo(60000);
            assertThat(recorded.table("public", "no_columns").orElseThrow().rows()).isEqualTo(2);

            // each table names the dump's file of its rows (what a restore counts as it feeds pg_restore), but a hash
            // partition, whose rows a restore may route to another partition
            assertThat(recorded.tables()).filteredOn(t -> t.name().startsWith("hashed_"))
                    .extracting(TableFingerprints.Table::file).containsOnlyNulls();
            for (TableFingerprints.Table t : recorded.tables().stream()
                    .filter(t -> !t.name().startsWith("hashed_")).toList()) {
                CopyRows counted = CopyRows.counting();
                counted.update(Files.readAllBytes(backup.dump().resolve(t.file())), 0,
                        (int) Files.size(backup.dump().resolve(t.file())));
                counted.end();
                assertThat(counted.count()).as("rows in %s, the file of %s", t.file(), t.qualified())
                        .isEqualTo(t.rows());
            }
            assertThat(recorded.tables()).extracting(TableFingerprints.Table::file).filteredOn(f -> f != null)
                    .doesNotHaveDuplicates();

            // a column added to the parent comes last in the child, but a restore puts inherited columns first
            assertThat(recorded.table("public", "heir").orElseThrow().columns()).containsExactly("a", "b", "own", "c");
            assertThat(recorded.table("public", "base").orElseThrow().columns()).isNull();
            assertThat(recorded.table("public", "zoo").orElseThrow().columns()).isNull();

            restore(stack, backup.dump(), restored);
            assertThat(checkerHashes(restored, recorded)).isEqualTo(asChecked(recorded));
            assertThat(checkerHashes(source, recorded)).as("the source, read the checker's way")
                    .isEqualTo(asChecked(recorded));
            assertThat(checkerHashes(restored).stream().filter(t -> t.name().equals("heir")).findFirst().orElseThrow()
                    .hash()).as("the restored child read in its own column order (a, b, c, own)")
                    .isNotEqualTo(recorded.table("public", "heir").orElseThrow().hash());

            Databases.execute(restored, "update public.zoo set t = t || ' ' where id = 1");
            List<TableFingerprints.Table> changed = checkerHashes(restored, recorded);
            assertThat(changed).filteredOn(t -> t.name().equals("zoo")).singleElement()
                    .satisfies(t -> {
                        assertThat(t.rows()).isEqualTo(4);
                        assertThat(t.hash()).isNotEqualTo(recorded.table("public", "zoo").orElseThrow().hash());
                    });
            assertThat(changed).filteredOn(t -> !t.name().equals("zoo"))
                    .isEqualTo(asChecked(recorded).stream().filter(t -> !t.name().equals("zoo")).toList());
        } finally {
            Databases.dropDatabase(source);
            Databases.dropDatabase(restored);
            delete(work);
        }
    }

    @Test
    void aSqlAsciiDatabaseIsDumpedAsStoredAndItsBytesHashAndRestoreAlike() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        String source = "fpa_src_" + UUID.randomUUID().toString().substring(0, 8);
        String restored = source.replace("fpa_src_", "fpa_dst_");
        Path work = Files.createTempDirectory("fp-ascii");
        try {
            for (String db : List.of(source, restored)) {
                Databases.dropDatabase(db);
                Databases.execute("postgres", "create database " + db + " encoding 'SQL_ASCII' lc_collate 'C' "
                        + "lc_ctype 'C' template template0");
            }
            // Latin-1 bytes, not UTF-8: a dump labelled UTF-8 would be refused by the SQL_ASCII target
            Databases.execute(source, "create table legacy (id int, name text); "
                    + "insert into legacy values (1, e'caf\\xe9'), (2, e'na\\xefve \\xff'), (3, 'plain')");

            Backup backup = backUp(stack, source, work);
            assertThat(backup.tables().table("public", "legacy").orElseThrow().rows()).isEqualTo(3);
            restore(stack, backup.dump(), restored);
            assertThat(checkerHashes(restored)).isEqualTo(asChecked(backup.tables()));
        } finally {
            delete(work);
            Databases.dropDatabase(source);
            Databases.dropDatabase(restored);
        }
    }

    @Test
    void fingerprintsTakenDuringWritesMatchTheRestoredDump() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        String source = "fp_src_" + UUID.randomUUID().toString().substring(0, 8);
        String restored = source.replace("fp_src_", "fp_dst_");
        Databases.createDatabase(source);
        Databases.loadSample(source, 1);
        Databases.execute(source, "create table public.busy (id bigserial primary key, n int not null); "
                + "insert into public.busy (n) select g from generate_series(1, 200000) g");
        Path work = Files.createTempDirectory("fp-test");
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
            long writesBefore = writes.get();
            Backup backup = backUp(stack, source, work);
            assertThat(writes.get()).as("writes committed while the backup ran").isGreaterThan(writesBefore);
            stop.set(true);
            writer.join();

            Databases.createDatabase(restored);
            restore(stack, backup.dump(), restored);
            TableFingerprints recorded = backup.tables();
            assertThat(recorded.tables()).extracting(TableFingerprints.Table::qualified)
                    .contains("public.busy", "shop.orders", "shop.events");
            assertThat(checkerHashes(restored)).isEqualTo(asChecked(recorded));
            assertThat(checkerHashes(source)).as("the source moved on after the snapshot")
                    .isNotEqualTo(asChecked(recorded));
        } finally {
            stop.set(true);
            writer.join();
            Databases.dropDatabase(source);
            Databases.dropDatabase(restored);
            delete(work);
        }
    }

    @Test
    void withoutTheTableOfContentsListedTheBackupFailsNamingWhy() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        Path work = Files.createTempDirectory("fp-toc");
        try (BackupFingerprinter fp = BackupFingerprinter.open("127.0.0.1", stack.pgPort(), "postgres", "postgres",
                stack.pgSuperPassword(), 10, work.resolve("no-such-pg_restore"))) {
            Path dump = Files.createDirectories(work.resolve("dump"));
            Files.writeString(dump.resolve("toc.dat"), "not a dump");
            fp.open(dump.resolve("toc.dat"), java.io.InputStream.nullInputStream()).close();
            assertThatThrownBy(fp::fingerprints).isInstanceOf(dev.lifeboat.snapshot.domain.BackupFailure.class)
                    .hasMessageContaining("no-such-pg_restore")
                    .hasMessageContaining("LIFEBOAT_TABLE_FINGERPRINTS=false");
        } finally {
            delete(work);
        }
    }

    private record Backup(TableFingerprints tables, Path dump) {
    }

    /**
     * As the worker backs up: pg_dump's files streamed into a repository through the fingerprinter while pg_dump
     * runs; the fingerprints read back sealed from the manifest, the dump restored from the repository.
     */
    private static Backup backUp(LocalStack stack, String database, Path work) throws Exception {
        Repository repo = Repository.init(new LocalDirectoryObjectStore(work.resolve("store")), "fp", "repository",
                MasterKey.generate());
        Path spool = Files.createDirectories(work.resolve("spool"));
        Deadline limit = Deadline.after(Instant.now(), Duration.ofMinutes(5), "the test's limit");
        SourceConnection source = new SourceConnection("127.0.0.1", stack.pgPort(), database, "postgres",
                stack.pgSuperPassword(), SslMode.PREFER, null);
        String backupId = UUID.randomUUID().toString();
        Manifest manifest;
        try (BackupFingerprinter fp = BackupFingerprinter.open("127.0.0.1", stack.pgPort(), database, "postgres",
                stack.pgSuperPassword(), 10, PG_RESTORE)) {
            PgDump dump = new PgDump(PG_DUMP, 2, 10, Duration.ofMinutes(1), Duration.ofSeconds(30),
                    new ChildProcesses(spool.resolve("children")));
            try (PgDump.Running running = dump.start(source, spool.resolve("dump"), spool, Duration.ofMillis(200),
                    fp.snapshotId(), backupId, limit, bytes -> { }, fp)) {
                manifest = repo.writer().writeStreamed(running.files(), BackupType.FULL,
                        ChainContext.latestChain(backupId), fp::fingerprints).manifest();
            }
        }
        assertThat(Files.exists(spool.resolve("dump").resolve("toc.dat"))).as("read and removed").isFalse();
        Path restoredDump = work.resolve("restored-dump");
        repo.reader().restore(manifest, restoredDump);
        return new Backup(repo.tableFingerprints(manifest).orElseThrow(), restoredDump);
    }

    private static void restore(LocalStack stack, Path dump, String database) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(PG_RESTORE.toString(), "--format=directory", "--no-owner",
                "--exit-on-error", "--host=127.0.0.1", "--port=" + stack.pgPort(), "--username=postgres",
                "--dbname=" + database, dump.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("PGPASSWORD", stack.pgSuperPassword());
        assertThat(pb.start().waitFor()).isZero();
    }

    /** The recorded tables as the checker computes them: it reads tables, not the dump's files. */
    static List<TableFingerprints.Table> asChecked(TableFingerprints recorded) {
        return recorded.tables().stream().map(t -> new TableFingerprints.Table(t.schema(), t.name(), t.rows(), t.hash(),
                t.columns())).toList();
    }

    /** What TABLE_MATCHES_SOURCE computes for every table of {@code database}, in the fingerprints' order. */
    static List<TableFingerprints.Table> checkerHashes(String database) throws Exception {
        return checkerHashes(database, new TableFingerprints(CopyHashes.METHOD, List.of()));
    }

    /** The same, reading each table in the column order {@code recorded} holds for it, as the check does. */
    static List<TableFingerprints.Table> checkerHashes(String database, TableFingerprints recorded) throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        java.util.Properties p = new java.util.Properties();
        p.setProperty("user", stack.pgSuperUser());
        p.setProperty("password", stack.pgSuperPassword());
        p.setProperty("allowEncodingChanges", "true");   // as TargetServers.connect
        try (Connection c = java.sql.DriverManager.getConnection(stack.jdbcUrl(database), p)) {
            c.setAutoCommit(false);
            CopyHashes.pinTextForms(c);
            List<TableFingerprints.Table> out = new ArrayList<>();
            for (String[] t : TableHashes.tables(c)) {
                out.add(CopyHashes.fingerprint(c, recorded.table(t[0], t[1])
                        .orElse(new TableFingerprints.Table(t[0], t[1], 0, "")), recorded.method()));
            }
            c.rollback();
            out.sort(Comparator.comparing(TableFingerprints.Table::schema).thenComparing(TableFingerprints.Table::name));
            return out;
        }
    }

    private static void delete(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        }
    }
}
