package dev.lifeboat.snapshot.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.lifeboat.contracts.recovery.BackupLocation;
import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.SqlCheck;
import dev.lifeboat.contracts.recovery.VerifyDatabase;
import dev.lifeboat.kit.pg.SslMode;
import dev.lifeboat.kit.secrets.SecretPolicy;
import dev.lifeboat.repository.snapshot.TableFingerprints;
import dev.lifeboat.snapshot.config.SnapshotConfig;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;

/**
 * A database whose owner planted look-alikes of the built-in functions the worker calls, and an operator, in
 * {@code public}, and put {@code public} first on the search_path of the database and of the worker's role there
 * (CVE-2018-1058): each look-alike writes a file on the server (COPY TO, which works when a superuser calls it)
 * and then answers as the real one would. The worker's checks and source queries, connected as the superuser, call
 * none of them, and still give the right answers.
 */
class PlantedFunctionsTest {
    static final String SUFFIX = UUID.randomUUID().toString().substring(0, 8);
    static final String DB = "planted_" + SUFFIX;
    /** The same tables and rows without anything planted: what the backup recorded. */
    static final String CLEAN = "planted_clean_" + SUFFIX;
    static final String OWNER = "planter_" + SUFFIX;
    static final String DATA = "create schema shop; create table shop.orders (id int primary key, total int, note text); "
            + "insert into shop.orders values (1, 10, 'a'), (2, 20, 'b'), (3, 30, null); "
            + "create table public.tickets (id int); insert into public.tickets values (1), (2); ";
    static Path ran;
    static Path passwordFile;

    @BeforeAll
    static void database() throws Exception {
        LocalStack.ensureStarted();
        ran = Files.createTempDirectory("planted-ran-");
        // the server writes the look-alikes' files as its own OS user
        Files.setPosixFilePermissions(ran, PosixFilePermissions.fromString("rwxrwxrwx"));
        Databases.execute("postgres", "create role " + OWNER + " nologin nosuperuser");
        Databases.createDatabase(CLEAN);
        Databases.execute(CLEAN, DATA);
        Databases.createDatabase(DB);
        Databases.execute("postgres", "alter database " + DB + " owner to " + OWNER);
        Databases.execute(DB, "set role " + OWNER + "; " + DATA + planted() + "alter database " + DB
                + " set search_path = public, pg_catalog; reset role; "
                // the physical case: the source's superuser sets the worker's role's path too
                + "alter role postgres in database " + DB + " set search_path = public, pg_catalog");
        passwordFile = Files.createTempFile("planted-target-", ".pw");
        Files.writeString(passwordFile, LocalStack.ensureStarted().pgSuperPassword());
    }

    /** The look-alikes, each with the signature of the built-in it shadows or one that matches the call better. */
    static String planted() {
        StringBuilder sql = new StringBuilder("create function public.planted_ran(what text) returns void "
                + "language plpgsql as $$ begin execute 'copy (select 1) to ' || pg_catalog.quote_literal('"
                + ran + "/' || what); end $$; ");
        String[][] lookAlikes = {
                {"quote_ident(name)", "text", "quote_ident_name", "pg_catalog.quote_ident($1::text)"},
                {"quote_ident(text)", "text", "quote_ident_text", "pg_catalog.quote_ident($1)"},
                {"to_regclass(text)", "regclass", "to_regclass", "pg_catalog.to_regclass($1)"},
                {"format(text, name)", "text", "format_1", "pg_catalog.format($1, $2)"},
                {"format(text, name, name)", "text", "format_2", "pg_catalog.format($1, $2, $3)"},
                {"set_config(text, text, boolean)", "text", "set_config", "pg_catalog.set_config($1, $2, $3)"},
                {"current_setting(text)", "text", "current_setting", "pg_catalog.current_setting($1)"},
                {"md5(text)", "text", "md5", "pg_catalog.md5($1)"},
                {"pg_has_role(oid, text, text)", "boolean", "pg_has_role", "pg_catalog.pg_has_role($1, $2, $3)"},
                {"pg_database_size(name)", "bigint", "pg_database_size", "pg_catalog.pg_database_size($1)"},
                {"planted_count(bigint)", "bigint", "count", "$1 + 1"},
                {"planted_chareq(\"char\", \"char\")", "boolean", "char_eq", "$1 operator(pg_catalog.=) $2"},
        };
        for (String[] f : lookAlikes) {
            sql.append("create function public.").append(f[0]).append(" returns ").append(f[1])
                    .append(" language plpgsql as $$ begin perform public.planted_ran('").append(f[2])
                    .append("'); return ").append(f[3]).append("; end $$; ");
        }
        return sql.append("create aggregate public.count(*) (sfunc = public.planted_count, stype = bigint, "
                + "initcond = '0'); create operator public.= (leftarg = \"char\", rightarg = \"char\", "
                + "function = public.planted_chareq); ").toString();
    }

    @AfterAll
    static void drop() throws Exception {
        Databases.dropDatabase(DB);
        Databases.dropDatabase(CLEAN);
        Databases.execute("postgres", "drop role if exists " + OWNER);
        Files.deleteIfExists(passwordFile);
        clearRan();
        Files.deleteIfExists(ran);
    }

    @BeforeEach
    void nothingRanYet() throws Exception {
        clearRan();
    }

    static void clearRan() throws Exception {
        try (Stream<Path> files = Files.list(ran)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
    }

    static List<String> whatRan() throws Exception {
        try (Stream<Path> files = Files.list(ran)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theLookAlikesRunWhenCalledUnqualifiedUnderTheDatabasesPath() throws Exception {
        // the set-up works: a session on the database's own settings calls them
        try (Connection c = Databases.connect(DB); var st = c.createStatement();
             var rs = st.executeQuery("select quote_ident(nspname) from pg_namespace where nspname = 'shop'")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("shop");
        }
        assertThat(whatRan()).containsExactly("quote_ident_name");
    }

    @Test
    void rowCountAndQueryChecksCallNothingTheDatabasePlanted() throws Exception {
        List<DatabaseChecks.Outcome> outcomes = checks(null).verify(new VerifyDatabase("planted-" + UUID.randomUUID(),
                "run", 1, target(), List.of(
                new SqlCheck("orders", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "shop.orders", 3L, null, null),
                new SqlCheck("too many", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "shop.orders", 4L, null, null),
                new SqlCheck("not a name", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "a.b.c.d", 1L, null, null),
                // looked up in PostgreSQL's default path, not in the one the database sets
                new SqlCheck("unqualified", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "tickets", 2L, null, null),
                new SqlCheck("outside the default path", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "orders", 1L, null, null),
                new SqlCheck("second total", SqlCheck.Kind.QUERY_EQUALS, null, null,
                        "select total from shop.orders where id = 2", "20")), null));

        assertThat(outcomes).extracting(DatabaseChecks.Outcome::passed)
                .containsExactly(true, false, false, true, false, true);
        assertThat(outcomes).extracting(DatabaseChecks.Outcome::actual)
                .containsExactly("3", "3", null, "2", null, "20");
        assertThat(outcomes.get(2).detail()).contains("improper relation name");
        assertThat(outcomes.get(3).detail()).startsWith("public.tickets has 2 rows");
        assertThat(outcomes.get(4).detail()).startsWith("table orders does not exist");
        assertThat(whatRan()).isEmpty();
    }

    @Test
    void tableChecksCallNothingTheDatabasePlanted() throws Exception {
        for (String method : List.of(CopyHashes.METHOD, TableHashes.METHOD)) {
            TableFingerprints recorded;
            try (Connection c = Databases.connect(CLEAN)) {
                c.setAutoCommit(false);
                if (method.equals(CopyHashes.METHOD)) {
                    CopyHashes.pinTextForms(c);
                    recorded = new TableFingerprints(method, List.of(CopyHashes.fingerprint(c, "public", "tickets"),
                            CopyHashes.fingerprint(c, "shop", "orders")));
                } else {
                    TableHashes.pinTextForms(c);
                    recorded = new TableFingerprints(method, List.of(TableHashes.fingerprint(c, "public", "tickets"),
                            TableHashes.fingerprint(c, "shop", "orders")));
                }
            }
            List<DatabaseChecks.Outcome> outcomes = checks(recorded).verify(new VerifyDatabase("planted-"
                    + UUID.randomUUID(), "run", 1, target(), List.of(
                    new SqlCheck("orders", SqlCheck.Kind.TABLE_MATCHES_SOURCE, "shop.orders", null, null, null),
                    new SqlCheck("all", SqlCheck.Kind.TABLE_MATCHES_SOURCE, SqlCheck.ALL_TABLES, null, null, null)),
                    new BackupLocation("b", "s", "bucket", "prefix", "chain", "manifest", Instant.now(), 0, 0, null)));

            assertThat(outcomes).as(method).extracting(DatabaseChecks.Outcome::detail)
                    .containsExactly("shop.orders matches the backup (row count and content hash)",
                            "all 2 tables match the backup (row count and content hash)");
            assertThat(whatRan()).as(method).isEmpty();
        }
    }

    @Test
    void sourceQueriesCallNothingTheDatabasePlanted() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        SourceConnection source = new SourceConnection("127.0.0.1", stack.pgPort(), DB, "postgres",
                stack.pgSuperPassword(), SslMode.PREFER, null);

        SourceProbe.Probed probed = SourceProbe.connect(source, 10, 30);
        assertThat(probed.facts().databaseBytes()).isPositive();
        try (BackupFingerprinter fingerprints = BackupFingerprinter.on(probed.connection(), source.toString(),
                Deadline.after(Instant.now(), Duration.ofMinutes(1), "the test's limit"), null)) {
            assertThat(fingerprints.snapshotId()).isNotBlank();
        }
        assertThat(LockDiagnosis.holdersOf(source, "shop.orders", 10)).isEqualTo("table shop.orders was locked; "
                + "the lock is no longer held");
        assertThat(whatRan()).isEmpty();
    }

    static DatabaseTarget target() {
        return new DatabaseTarget("127.0.0.1", LocalStack.ensureStarted().pgPort(), DB, "postgres",
                "file:" + passwordFile);
    }

    static DatabaseChecks checks(TableFingerprints recorded) {
        DatabaseChecks checks = new DatabaseChecks();
        checks.secrets = new SecretPolicy("LIFEBOAT_SECRET_", List.of(Path.of(System.getProperty("java.io.tmpdir"))),
                List.of(), java.util.Set.of(), System::getenv);
        checks.config = QueryCheckIsolationTest.config();
        checks.snapshots = (SnapshotConfig) Proxy.newProxyInstance(SnapshotConfig.class.getClassLoader(),
                new Class<?>[] {SnapshotConfig.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "connectTimeoutSeconds" -> 10;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        checks.restorer = new DatabaseRestorer() {
            @Override
            Optional<TableFingerprints> recordedTables(BackupLocation backup) {
                return Optional.ofNullable(recorded);
            }
        };
        return checks;
    }
}
