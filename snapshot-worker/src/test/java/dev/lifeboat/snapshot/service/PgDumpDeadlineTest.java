package dev.lifeboat.snapshot.service;

import dev.lifeboat.kit.pg.SslMode;
import dev.lifeboat.snapshot.domain.BackupFailure;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * pg_dump against the real PostgreSQL while another session holds an ACCESS EXCLUSIVE lock on one table: it gives up
 * at its lock wait timeout, or is killed with its process group at the backup's deadline, and either way the failure
 * names the table and the process that holds the lock.
 */
class PgDumpDeadlineTest {
    static final String DATABASE = "pgdump_deadline_test";
    static Path spool;

    @BeforeAll
    static void source() throws IOException {
        Databases.createDatabase(DATABASE);
        Databases.execute(DATABASE, "create table public.accounts (id int primary key, balance int); "
                + "insert into public.accounts select g, g from generate_series(1, 100) g; "
                + "create table public.other (id int)");
        spool = Files.createTempDirectory("pgdump-deadline-test");
    }

    @AfterAll
    static void drop() {
        Databases.dropDatabase(DATABASE);
        SnapshotService.deleteRecursively(spool);
    }

    @Test
    void lockHeldPastTheLockWaitTimeoutFailsNamingTheTableAndTheHoldingProcess() throws Exception {
        try (Connection holder = lockAccounts()) {
            int holderPid = pid(holder);
            Instant start = Instant.now();

            BackupFailure failure = dump(Duration.ofSeconds(2), Duration.ofMinutes(2), "lock-wait");

            assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(15));
            assertThat(failure.stage()).isEqualTo("DUMP");
            assertThat(failure.getMessage()).contains("gave up waiting PT2S for a lock")
                    .contains("table public.accounts is locked by process " + holderPid)
                    .contains("holding AccessExclusiveLock").contains("application lock-holder")
                    .contains("end that session");
        }
    }

    @Test
    void dumpStillWaitingAtItsDeadlineIsKilledWithItsProcessGroupNamingTheLock() throws Exception {
        try (Connection holder = lockAccounts()) {
            int holderPid = pid(holder);
            Instant start = Instant.now();

            BackupFailure failure = dump(Duration.ofMinutes(10), Duration.ofSeconds(3), "deadline");

            assertThat(Duration.between(start, Instant.now())).isBetween(Duration.ofSeconds(3), Duration.ofSeconds(15));
            assertThat(failure.stage()).isEqualTo("DUMP");
            assertThat(failure.getMessage()).contains("was stopped at the maximum backup duration PT3S (the test's limit)")
                    .contains("table public.accounts is locked by process " + holderPid)
                    .contains("application lock-holder");
            // killed, not left behind: no pg_dump session of this backup remains on the server, no group recorded
            assertThat(sessionsOf(PgDump.applicationName("deadline"), Duration.ofSeconds(5))).isZero();
            try (Stream<Path> records = Files.list(spool.resolve("deadline-children"))) {
                assertThat(records).isEmpty();
            }
        }
    }

    private static BackupFailure dump(Duration lockWait, Duration budget, String backupId) throws IOException {
        LocalStack stack = LocalStack.ensureStarted();
        PgDump dump = new PgDump(PgTools.pgDumpFor(Path.of("/usr/lib/postgresql"), 15), 2, 5, lockWait,
                Duration.ofSeconds(30), new ChildProcesses(spool.resolve(backupId + "-children")));
        SourceConnection source = new SourceConnection("127.0.0.1", stack.pgPort(), DATABASE, "postgres",
                stack.pgSuperPassword(), SslMode.PREFER, null);
        Path dir = Files.createDirectories(spool.resolve(backupId + "-" + UUID.randomUUID()));
        return catchThrowableOfType(BackupFailure.class, () -> dump.run(source, dir.resolve("dump"), dir,
                Duration.ofMillis(200), null, backupId, Deadline.after(Instant.now(), budget, "the test's limit"),
                bytes -> { }));
    }

    private static Connection lockAccounts() throws SQLException {
        Connection c = Databases.connect(DATABASE);
        try (Statement st = c.createStatement()) {
            st.execute("set application_name = 'lock-holder'");
            c.setAutoCommit(false);
            st.execute("lock table public.accounts in access exclusive mode");
        }
        return c;
    }

    private static int pid(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("select pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Sessions of {@code applicationName} on the server, after giving ended ones {@code grace} to go. */
    private static int sessionsOf(String applicationName, Duration grace) throws Exception {
        Instant end = Instant.now().plus(grace);
        while (true) {
            int n;
            try (Connection c = Databases.connect("postgres"); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("select count(*) from pg_stat_activity where application_name = '"
                         + applicationName + "'")) {
                rs.next();
                n = rs.getInt(1);
            }
            if (n == 0 || Instant.now().isAfter(end)) {
                return n;
            }
            Thread.sleep(200);
        }
    }
}
