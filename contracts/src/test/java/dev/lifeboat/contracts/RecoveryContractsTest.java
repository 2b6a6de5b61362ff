package dev.lifeboat.contracts;

import dev.lifeboat.contracts.recovery.BackupLocation;
import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.DropDatabase;
import dev.lifeboat.contracts.recovery.PrepareRestore;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.RecoveryFinished;
import dev.lifeboat.contracts.recovery.RecoveryStarted;
import dev.lifeboat.contracts.recovery.RestoreDatabase;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.contracts.recovery.SqlCheck;
import dev.lifeboat.contracts.recovery.SqlCheckRules;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.contracts.recovery.VerifyBackup;
import dev.lifeboat.contracts.recovery.VerifyDatabase;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RecoveryContractsTest {
    private static final Instant T = Instant.parse("2026-11-25T08:00:00Z");
    private static final String RUN = "5f0c2a4e-8f7d-4d8e-9a51-0f5b1c2d3e4f";
    private static final DatabaseTarget TARGET = new DatabaseTarget("127.0.0.1", 25432, "shop_drill", "postgres",
            "env:TARGET_DB_PASSWORD");
    private static final dev.lifeboat.contracts.recovery.ClusterTarget CLUSTER =
            new dev.lifeboat.contracts.recovery.ClusterTarget("/var/lib/lifeboat/restores", "shop-pitr", 5433);
    private static final BackupLocation LOCATION = new BackupLocation("0b9a3a5e-5d7e-4a4f-9d40-6c3f1f0f8a11", "shop",
            "lifeboat-backups", "backups/shop", "c1", "backups/shop/chains/c1/manifests/x.json", T, 10, 20, "QUICK_OK",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");

    @Test
    void everyRecoveryMessageRoundTripsThroughItsSchema() {
        Object[] samples = {
                new PrepareRestore(RecoveryCommand.commandId(RUN, 0, "prepare"), RUN, 0, "shop", null, 86400L),
                new PrepareRestore(RecoveryCommand.commandId(RUN, 1, "prepare"), RUN, 1, "shop", null, null, T,
                        dev.lifeboat.contracts.recovery.RecoveryTarget.time(T)),
                VerifyDatabase.onCluster(RecoveryCommand.commandId(RUN, 3, "verify-database"), RUN, 3, CLUSTER,
                        List.of(new SqlCheck("orders present", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "orders", 10L, null,
                                null, "shop")), T),
                new RestoreDatabase(RecoveryCommand.commandId(RUN, 0, "restore"), RUN, 0, LOCATION, TARGET, 2),
                new VerifyBackup(RecoveryCommand.commandId(RUN, 1, "verify-backup"), RUN, 1, LOCATION),
                new VerifyDatabase(RecoveryCommand.commandId(RUN, 1, "verify-database"), RUN, 1, TARGET, List.of(
                        new SqlCheck("orders present", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "orders", 10L, null, null),
                        new SqlCheck("one admin", SqlCheck.Kind.QUERY_EQUALS, null, null, "select count(*) from admins", "1"))),
                new VerifyDatabase(RecoveryCommand.commandId(RUN, 2, "verify-database"), RUN, 2, TARGET, List.of(
                        new SqlCheck("orders as backed up", SqlCheck.Kind.TABLE_MATCHES_SOURCE, "shop.orders", null,
                                null, null),
                        new SqlCheck("all tables", SqlCheck.Kind.TABLE_MATCHES_SOURCE, "*", null, null, null)),
                        LOCATION),
                new DropDatabase(RecoveryCommand.commandId(RUN, 0, "drop"), RUN, 0, TARGET),
                new dev.lifeboat.contracts.recovery.RestoreCluster(RecoveryCommand.commandId(RUN, 0, "restore-cluster"),
                        RUN, 0, LOCATION, CLUSTER, dev.lifeboat.contracts.recovery.RecoveryTarget.time(T), T),
                new dev.lifeboat.contracts.recovery.RestoreCluster(RecoveryCommand.commandId(RUN, 1, "restore-cluster"),
                        RUN, 1, LOCATION, CLUSTER, dev.lifeboat.contracts.recovery.RecoveryTarget.latest(), null),
                new dev.lifeboat.contracts.recovery.RemoveCluster(RecoveryCommand.commandId(RUN, 0, "remove-cluster"),
                        RUN, 0, CLUSTER, T),
                new StepReply(RecoveryCommand.commandId(RUN, 0, "restore"), RUN, 0, EventType.RESTORE_DATABASE.ceType(),
                        "snapshot-worker-a", StepReply.Outcome.COMPLETED, "restored 7 tables",
                        Map.of("tables", List.of(Map.of("table", "public.orders", "rows", 12))), T, T),
                new RecoveryStarted(RUN, "shop-dr", "shop DR", RunMode.DRILL, "http", 900_000, 86_400, T),
                new RecoveryFinished(RUN, "shop-dr", "shop DR", RunMode.DRILL, RecoveryFinished.Status.SUCCEEDED, true,
                        null, T, T.plusSeconds(12), 12_000, 900_000, true, 86_400, true, "shop", LOCATION.backupId(), 300L,
                        List.of(new RecoveryFinished.StepOutcome(0, "RestoreDatabase", "COMPLETED", T, T.plusSeconds(9),
                                9_000L, "restored 7 tables")), null),
                new RecoveryFinished(RUN, "shop-dr", "shop DR", RunMode.DRILL, RecoveryFinished.Status.SUCCEEDED, true,
                        null, T, T.plusSeconds(20), 20_000, 900_000, true, 86_400, true, "shop", LOCATION.backupId(), 300L,
                        List.of(new RecoveryFinished.StepOutcome(0, "RestoreCluster", "COMPLETED", T, T.plusSeconds(18),
                                18_000L, "cluster accepting connections")),
                        new RecoveryFinished.ClusterRestoreMeasure(0, 1_200_000_000L, 9_000, 12L, 201_326_592L,
                                4_000L, 6_000, 2_500, 18_000))};
        for (Object sample : samples) {
            EventType type = EventType.of(sample.getClass());
            assertThat(EventCodec.decodeData(type, EventCodec.encodeData(sample))).isEqualTo(sample);
        }
    }

    @Test
    void aTargetNamesItsRegisteredServerAndACommandWithoutOneStaysReadable() {
        DropDatabase named = new DropDatabase("c", RUN, 0, new DatabaseTarget("127.0.0.1", 5432, "drill_x",
                "postgres", "env:TARGET_DB_PASSWORD", "restore-pg"));
        assertThat(EventCodec.decodeData(EventType.DROP_DATABASE, EventCodec.encodeData(named))).isEqualTo(named);
        // an older coordinator's command: readable, the worker refuses it with the reason
        String legacy = "{\"commandId\":\"c\",\"runId\":\"" + RUN + "\",\"step\":0,\"target\":{\"host\":"
                + "\"127.0.0.1\",\"port\":5432,\"database\":\"drill_x\",\"user\":\"postgres\",\"passwordRef\":"
                + "\"env:X\"}}";
        assertThat(((DropDatabase) EventCodec.decodeData(EventType.DROP_DATABASE, legacy)).target().server()).isNull();
        String badServer = EventCodec.encodeData(new DropDatabase("c", RUN, 0, new DatabaseTarget("127.0.0.1", 5432,
                "drill_x", "postgres", "env:X", "../admin")));
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.DROP_DATABASE, badServer))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("server");
    }

    @Test
    void aTargetCarriesASecretReferenceNeverAPassword() {
        String json = EventCodec.encodeData(new DropDatabase("c", RUN, 0,
                new DatabaseTarget("127.0.0.1", 5432, "x", "postgres", "hunter2")));
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.DROP_DATABASE, json))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("passwordRef");
    }

    @Test
    void aRowCountCheckWithoutItsTableFailsTheSchema() {
        String json = EventCodec.encodeData(new VerifyDatabase("c", RUN, 1, TARGET,
                List.of(new SqlCheck("bad", SqlCheck.Kind.ROW_COUNT_AT_LEAST, null, 1L, null, null))));
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.VERIFY_DATABASE, json))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("table");
    }

    @Test
    void aVerifyDatabaseNamesEitherATargetOrARestoredClusterAndOldPrepareRestoresStayValid() {
        List<SqlCheck> checks = List.of(new SqlCheck("n", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "orders", 1L, null, null,
                "shop"));
        String neither = EventCodec.encodeData(new VerifyDatabase("c", RUN, 1, null, checks, null, null, null));
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.VERIFY_DATABASE, neither))
                .isInstanceOf(InvalidEventException.class);
        String both = EventCodec.encodeData(new VerifyDatabase("c", RUN, 1, TARGET, checks, null, null, CLUSTER));
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.VERIFY_DATABASE, both))
                .isInstanceOf(InvalidEventException.class);
        String older = "{\"commandId\":\"c\",\"runId\":\"" + RUN + "\",\"step\":0,\"sourceId\":\"shop\","
                + "\"backupId\":null,\"maxAgeSeconds\":60}";
        assertThat(((PrepareRestore) EventCodec.decodeData(EventType.PREPARE_RESTORE, older)).recoveryTarget())
                .isNull();
    }

    @Test
    void aTableMatchesSourceCheckNeedsTheBackupAndAPlainTableName() {
        String withoutBackup = EventCodec.encodeData(new VerifyDatabase("c", RUN, 1, TARGET,
                List.of(new SqlCheck("t", SqlCheck.Kind.TABLE_MATCHES_SOURCE, "shop.orders", null, null, null))));
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.VERIFY_DATABASE, withoutBackup))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("backup");
        String badTable = EventCodec.encodeData(new VerifyDatabase("c", RUN, 1, TARGET, List.of(new SqlCheck("t",
                SqlCheck.Kind.TABLE_MATCHES_SOURCE, "orders; drop table x", null, null, null)), LOCATION));
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.VERIFY_DATABASE, badTable))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("table");
    }

    @Test
    void aQueryCheckWithAStatementListFailsTheSchema() {
        String json = EventCodec.encodeData(new VerifyDatabase("c", RUN, 1, TARGET, List.of(new SqlCheck("q",
                SqlCheck.Kind.QUERY_EQUALS, null, null, "select 1; commit; insert into t values (1)", "1"))));
        assertThatThrownBy(() -> EventCodec.decodeData(EventType.VERIFY_DATABASE, json))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("sql");
        assertThat(SqlCheckRules.queryProblem("select 1;")).isEmpty();
        assertThat(SqlCheckRules.queryProblem("/* x */ (select 1)")).isEmpty();
        assertThat(SqlCheckRules.queryProblem("commit; insert into t values (1)")).get().asString()
                .contains("one statement");
        assertThat(SqlCheckRules.queryProblem("do $$ begin perform 1; end $$")).get().asString().contains("one statement");
        assertThat(SqlCheckRules.queryProblem("copy (select 1) to program 'x'")).get().asString().contains("'copy'");
    }
}
