package dev.lifeboat.snapshot.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.SqlCheckRules;
import dev.lifeboat.snapshot.config.RecoveryConfig;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;

/**
 * Plan-written check queries against the real PostgreSQL, connected as the superuser like a careless target would
 * be: whatever they try, they run as the restricted checker role, read-only, one query, under the timeout, and
 * leave no trace. The queries are sent to the checker as they are (not first screened by {@link SqlCheckRules}),
 * to prove the database-side defences on their own; the screening is asserted separately.
 */
class QueryCheckIsolationTest {
    static final Duration TIMEOUT = Duration.ofSeconds(2);
    static String db;
    static Path passwordFile;

    @BeforeAll
    static void database() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        db = "checks_" + UUID.randomUUID().toString().substring(0, 8);
        Databases.createDatabase(db);
        Databases.execute(db, "create schema shop; create table shop.orders (id serial primary key, total int); "
                + "insert into shop.orders (total) select g from generate_series(1, 10) g; "
                + "create sequence shop.ticket; create table public.secret_notes (x text); "
                + "create extension if not exists postgres_fdw");
        passwordFile = Files.createTempFile("checks-target-", ".pw");
        Files.writeString(passwordFile, stack.pgSuperPassword());
    }

    @AfterAll
    static void drop() throws Exception {
        Databases.dropDatabase(db);
        Files.deleteIfExists(passwordFile);
    }

    static DatabaseTarget target() {
        return new DatabaseTarget("127.0.0.1", LocalStack.ensureStarted().pgPort(), db, "postgres", "file:" + passwordFile);
    }

    static RecoveryConfig config() {
        return new RecoveryConfig() {
            public String maintenanceDatabase() { return "postgres"; }
            public Duration statementTimeout() { return TIMEOUT; }
            public int defaultJobs() { return 1; }
            public boolean streamIntoPgRestore() { return true; }
            public RestoreOwner restoreOwner() { return RestoreOwner.RESTORE_ROLE; }
            public String checkerRole() { return "lifeboat_checker"; }
            public Optional<String> checkerPasswordRef() { return Optional.empty(); }
            public int checkValueMaxChars() { return 200; }
            public Cluster cluster() { return null; }
        };
    }

    static CheckerRole.Result run(String sql) {
        try (CheckerRole checker = CheckerRole.open(target(), db, LocalStack.ensureStarted().pgSuperPassword(),
                config(), new dev.lifeboat.kit.secrets.SecretPolicy("LIFEBOAT_SECRET_",
                java.util.List.of(java.nio.file.Path.of(System.getProperty("java.io.tmpdir"))),
                java.util.List.of(), java.util.Set.of(), System::getenv), 10)) {
            return checker.query(sql);
        }
    }

    static long scalar(String sql) throws Exception {
        try (Connection c = Databases.connect(db); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void aLegitimateCountPasses() {
        CheckerRole.Result r = run("select count(*) from shop.orders;");
        assertThat(r.error()).isNull();
        assertThat(r.value()).isEqualTo("10");
    }

    @Test
    void writesFailWithAReasonAndLeaveNoTrace() throws Exception {
        assertThat(run("insert into shop.orders (total) values (1) returning 1").error()).startsWith("refused");
        assertThat(run("with x as (insert into shop.orders (total) values (1) returning 1) select * from x").error())
                .startsWith("refused");
        assertThat(run("commit; insert into shop.orders (total) values (1)").error()).isNotNull();
        assertThat(run("select 1) as q; commit; insert into shop.orders (total) values (1); select (1").error())
                .isNotNull();
        assertThat(run("create table public.planted (x int)").error()).startsWith("refused");
        assertThat(run("do $$ begin create table public.planted (x int); end $$").error()).startsWith("refused");
        assertThat(scalar("select count(*) from shop.orders")).isEqualTo(10);
        assertThat(scalar("select count(*) from pg_class where relname = 'planted'")).isZero();
    }

    @Test
    void nextvalIsAWriteAndTheSequenceIsUnchanged() throws Exception {
        long before = scalar("select last_value from shop.ticket");
        CheckerRole.Result r = run("select nextval('shop.ticket')");
        assertThat(r.error()).startsWith("refused");
        assertThat(scalar("select last_value from shop.ticket")).isEqualTo(before);
        assertThat(scalar("select count(*) from shop.ticket where is_called")).isZero();
    }

    @Test
    void copyToProgramAndToAFileRunNothingAndWriteNothing() {
        Path touched = Path.of("/tmp", "lifeboat-check-" + UUID.randomUUID());
        Path copied = Path.of("/tmp", "lifeboat-copy-" + UUID.randomUUID());
        assertThat(run("copy (select 1) to program 'touch " + touched + "'").error()).startsWith("refused");
        assertThat(run("copy (select 1) to '" + copied + "'").error()).startsWith("refused");
        assertThat(touched).doesNotExist();
        assertThat(copied).doesNotExist();
    }

    @Test
    void theServersFilesAndOtherServersAreOutOfReach() {
        assertThat(run("select pg_read_file('/etc/passwd')").error()).startsWith("refused").contains("permission denied");
        assertThat(run("select lo_import('/etc/passwd')").error()).startsWith("refused");
        assertThat(run("select lo_export(0, '/tmp/lifeboat-lo')").error()).startsWith("refused");
        assertThat(run("select count(*) from pg_ls_dir('.')").error()).startsWith("refused");
        // undoing a SET ROLE from inside the query gains nothing: the session is the checker's own
        assertThat(run("select set_config('role', 'none', false), pg_read_file('/etc/passwd')").error())
                .startsWith("refused");
        assertThat(run("select set_config('role', 'postgres', false)").error()).isNotNull();
        CheckerRole.Result who = run("select current_user || ':' || session_user || ':' || "
                + "current_setting('transaction_read_only')");
        assertThat(who.value()).isEqualTo("lifeboat_checker:lifeboat_checker:on");
        // postgres_fdw is installed: the checker may use no foreign server
        assertThat(run("select count(*) from pg_foreign_server s where has_server_privilege(s.oid, 'USAGE')").value())
                .isEqualTo("0");
        assertThat(Path.of("/tmp/lifeboat-lo")).doesNotExist();
    }

    @Test
    void dblinkInTheDatabaseRefusesQueryChecks() {
        Databases.execute(db, "create extension if not exists dblink");
        try {
            assertThat(run("select 1").error()).startsWith("refused").contains("dblink");
        } finally {
            Databases.execute(db, "drop extension dblink");
        }
    }

    @Test
    void aLongQueryStopsAtTheTimeout() {
        long start = System.nanoTime();
        CheckerRole.Result r = run("select pg_sleep(30)");
        assertThat(r.error()).startsWith("stopped at the statement timeout");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
    }

    @Test
    void theRoleIsLockedAndItsGrantsGoneAfterTheChecks() throws Exception {
        run("select 1");
        assertThat(scalar("select count(*) from pg_roles where rolname = 'lifeboat_checker' and not rolcanlogin "
                + "and not rolsuper")).isEqualTo(1);
        assertThat(scalar("select count(*) from pg_authid where rolname = 'lifeboat_checker' and rolpassword is null"))
                .isEqualTo(1);
        assertThat(scalar("select count(*) from information_schema.role_table_grants where grantee = "
                + "'lifeboat_checker'")).isZero();
    }

    @Test
    void thePlanRulesRefuseStatementListsAndNonQueriesBeforeAnythingRuns() {
        assertThat(SqlCheckRules.queryProblem("commit; insert into shop.orders (total) values (1)")).isPresent();
        assertThat(SqlCheckRules.queryProblem("copy (select 1) to program 'touch /tmp/x'")).isPresent();
        assertThat(SqlCheckRules.queryProblem("do $$ begin null; end $$")).isPresent();
        assertThat(SqlCheckRules.queryProblem("select count(*) from shop.orders;")).isEmpty();
    }
}
