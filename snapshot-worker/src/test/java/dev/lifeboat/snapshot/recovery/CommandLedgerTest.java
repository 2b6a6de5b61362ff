package dev.lifeboat.snapshot.recovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

import dev.lifeboat.kit.recovery.CommandLedger;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;

/**
 * The recovery command ledger on the real PostgreSQL, with the table as this service's migration creates it: two
 * instances (two sessions) never both run one command, a dead attempt is taken over with what it created, and a
 * finished command only hands back its reply.
 */
class CommandLedgerTest {
    private static final String DATABASE = "snapshot_ledger_test";
    private static CommandLedger ledger;

    @BeforeAll
    static void table() throws IOException {
        LocalStack stack = LocalStack.ensureStarted();
        Databases.createDatabase(DATABASE);
        String ddl;
        try (InputStream in = CommandLedgerTest.class.getResourceAsStream("/db/migration/V2__recovery_command.sql")) {
            ddl = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Databases.execute(DATABASE, "CREATE SCHEMA snapshot; SET search_path = snapshot; " + ddl);
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(stack.jdbcUrl(DATABASE));
        ds.setUser(stack.pgSuperUser());
        ds.setPassword(stack.pgSuperPassword());
        ledger = new CommandLedger(ds, "snapshot.recovery_command");
    }

    @Test
    void aCommandRunningInOneInstanceIsNotStartedByAnother() {
        String id = UUID.randomUUID() + ":1:restore";
        CommandLedger.Entry first = ledger.claim(id, "run", "RESTORE_DATABASE", "worker-a");
        try {
            assertThat(first).isInstanceOf(CommandLedger.Claim.class);
            assertThat(ledger.claim(id, "run", "RESTORE_DATABASE", "worker-b")).isInstanceOf(CommandLedger.Busy.class);
        } finally {
            ((CommandLedger.Claim) first).close();
        }
    }

    @Test
    void aCommandWhoseSessionEndedWhileItRanStillRecordsItsReplyAndIsNotRunAgain() {
        String id = UUID.randomUUID() + ":1:restore-cluster";
        try (CommandLedger.Claim claim = (CommandLedger.Claim) ledger.claim(id, "run", "RESTORE_CLUSTER", "a")) {
            claim.created("/var/lib/lifeboat/restores/pitr");
            // the database drops every session of the ledger's database while the restore runs
            Databases.execute("postgres", "select pg_terminate_backend(pid) from pg_stat_activity where datname = '"
                    + DATABASE + "' and pid <> pg_backend_pid()");
            claim.finish("{\"commandId\": \"" + id + "\", \"outcome\": \"COMPLETED\"}");
        }
        CommandLedger.Entry again = ledger.claim(id, "run", "RESTORE_CLUSTER", "b");
        assertThat(again).as("the reply was recorded: a redelivery re-sends it, nothing runs again")
                .isInstanceOf(CommandLedger.Finished.class);
        assertThat(((CommandLedger.Finished) again).replyJson()).contains("COMPLETED");
    }

    @Test
    void aDeadAttemptIsTakenOverWithWhatItCreatedAndAFinishedCommandOnlyReturnsItsReply() {
        String id = UUID.randomUUID() + ":1:restore";
        try (CommandLedger.Claim dead = (CommandLedger.Claim) ledger.claim(id, "run", "RESTORE_DATABASE", "a")) {
            assertThat(dead.attempt()).isEqualTo(1);
            assertThat(dead.createdResource()).isEmpty();
            dead.created("drill_1234abcd_1");
        }
        try (CommandLedger.Claim next = (CommandLedger.Claim) ledger.claim(id, "run", "RESTORE_DATABASE", "b")) {
            assertThat(next.attempt()).isEqualTo(2);
            assertThat(next.createdResource()).contains("drill_1234abcd_1");
            next.finish("{\"commandId\": \"" + id + "\", \"outcome\": \"COMPLETED\"}");
        }
        CommandLedger.Entry again = ledger.claim(id, "run", "RESTORE_DATABASE", "c");
        assertThat(again).isInstanceOf(CommandLedger.Finished.class);
        assertThat(((CommandLedger.Finished) again).replyJson()).contains("COMPLETED").contains(id);
        // the lock was released with the answer: a later delivery is not reported busy
        assertThat(ledger.claim(id, "run", "RESTORE_DATABASE", "d")).isInstanceOf(CommandLedger.Finished.class);
    }
}
