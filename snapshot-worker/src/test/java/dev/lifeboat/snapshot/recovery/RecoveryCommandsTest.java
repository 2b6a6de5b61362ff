package dev.lifeboat.snapshot.recovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import jakarta.inject.Inject;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.contracts.recovery.BackupLocation;
import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.DropDatabase;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.RestoreDatabase;
import dev.lifeboat.contracts.recovery.SqlCheck;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.contracts.recovery.VerifyDatabase;
import dev.lifeboat.kit.recovery.StepReplies;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.SnapshotWriter;
import dev.lifeboat.repository.snapshot.TableFingerprints;
import dev.lifeboat.snapshot.service.BackupFingerprinter;
import dev.lifeboat.repository.snapshot.WriteResult;
import dev.lifeboat.testsupport.CoordinatorStandIn;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.TableFingerprint;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The recovery commands of snapshot-worker against real Kafka, PostgreSQL and S3Proxy: a commands record in,
 * a StepReply out, and the target databases as they really are afterwards.
 */
@QuarkusTest
@QuarkusTestResource(value = RecoveryCommandsTestResource.class, restrictToAnnotatedClass = true)
class RecoveryCommandsTest {
    static final String BUCKET = "lifeboat-snapshot-recovery-test";
    static final Duration WAIT = Duration.ofSeconds(120);
    static KafkaProducer<String, String> producer;
    private static BackupLocation backup;
    private static String sourceDb;

    @Inject
    Repositories repositories;
    @Inject
    ObjectStore store;

    TopicTail replies;
    TopicTail deadLetters;

    @BeforeAll
    static void producer() {
        // commands come from recovery-coordinator: the only principal the broker lets write them
        Map<String, Object> config = LocalStack.ensureStarted().kafkaClientConfig("recovery-coordinator");
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    @AfterAll
    static void closeProducer() {
        producer.close();
    }

    @BeforeEach
    void tails() {
        replies = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.SNAPSHOT_WORKER_REPLIES);
        deadLetters = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.DLQ);
    }

    @AfterEach
    void closeTails() {
        replies.close();
        deadLetters.close();
    }

    @Test
    void restoreCreatesTheTargetWithTheSourcesDataAndARepeatedCommandOnlyResendsTheReply() throws Exception {
        BackupLocation location = backup();
        String runId = UUID.randomUUID().toString();
        String target = "recov_dst_" + runId.substring(0, 8);
        Databases.dropDatabase(target);
        RestoreDatabase restore = new RestoreDatabase(RecoveryCommand.commandId(runId, 1, "restore"), runId, 1,
                location, target(target), 2);

        send(EventType.RESTORE_DATABASE, restore);
        StepReply reply = awaitReply(restore.commandId());

        assertThat(reply.outcome()).as(reply.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(reply.participant()).startsWith("snapshot-worker/");
        Map<String, TableFingerprint> source = TableFingerprint.of(sourceDb);
        assertThat(TableFingerprint.of(target)).isEqualTo(source);
        assertThat(reply.result()).containsEntry("database", target);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> tables = (List<Map<String, Object>>) reply.result().get("tables");
        assertThat(tables).hasSize(source.size());
        for (Map<String, Object> t : tables) {
            assertThat(((Number) t.get("rows")).longValue()).as("rows of %s", t.get("table"))
                    .isEqualTo(source.get((String) t.get("table")).rowCount());
        }
        assertThat(((Number) reply.result().get("restoredBytes")).longValue()).isPositive();
        for (String timing : List.of("fetchMillis", "pgRestoreMillis", "totalMillis")) {
            assertThat(reply.result()).containsKey(timing);
        }
        // the tables' data went into pg_restore through pipes while it ran, not through a spooled copy; their rows
        // (checked above against the source) were counted as they were fed, not by reading the tables again
        assertThat(reply.result()).containsEntry("streamed", true);
        assertThat(((Number) reply.result().get("tablesCountedFromFeed")).intValue()).isEqualTo(tables.size());
        assertThat(Path.of(System.getProperty("java.io.tmpdir"), "lifeboat-spool")).satisfies(spool -> {
            if (Files.isDirectory(spool)) {
                // each worker's jobs live in its run directory, run-<id>/restore-<id>
                try (Stream<Path> left = Files.walk(spool, 2)) {
                    assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("restore-"));
                }
            }
        });

        // a change made after the restore survives a redelivery of the command: the restore is not repeated
        Databases.execute(target, "CREATE TABLE public.touched_after_restore (x int); "
                + "INSERT INTO public.touched_after_restore VALUES (1)");
        send(EventType.RESTORE_DATABASE, restore);
        StepReply again = StepReplies.fromJson(
                replies.awaitCount(isReplyTo(restore.commandId()), 2, WAIT).get(1).value());

        assertThat(again).isEqualTo(reply);
        assertThat(count(target, "select count(*) from public.touched_after_restore")).isEqualTo(1);
        Databases.dropDatabase(target);
    }

    @Test
    void aRestoreDeliveredAfterItsDeadlineIsRefusedAndRestoresNothing() {
        // the participant was down while the run waited: the run timed out, then the command arrived
        String runId = UUID.randomUUID().toString();
        String target = "recov_late_" + runId.substring(0, 8);
        String kept = "recov_keep_" + runId.substring(0, 8);
        Databases.dropDatabase(target);
        Databases.createDatabase(kept);
        Databases.execute(kept, "CREATE TABLE precious (x int); INSERT INTO precious VALUES (7)");
        Instant deadline = Instant.now().minusSeconds(90);
        RestoreDatabase late = new RestoreDatabase(RecoveryCommand.commandId(runId, 0, "restore"), runId, 0, backup(),
                target(target), 1, true, deadline);
        DropDatabase lateDrop = new DropDatabase(RecoveryCommand.commandId(runId, 0, "drop"), runId, 0,
                target(kept), deadline);

        send(EventType.RESTORE_DATABASE, late);
        send(EventType.DROP_DATABASE, lateDrop);
        StepReply reply = awaitReply(late.commandId());
        StepReply dropReply = awaitReply(lateDrop.commandId());

        assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(reply.message()).contains(late.commandId()).contains("after its deadline " + deadline)
                .contains("late by PT").contains("not started");
        assertThat(reply.result()).containsEntry("late", true).containsEntry("deadline", deadline.toString());
        assertThat(((Number) reply.result().get("lateMillis")).longValue()).isGreaterThanOrEqualTo(90_000);
        assertThat(exists(target)).as("database %s restored after the deadline", target).isFalse();
        assertThat(dropReply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(dropReply.message()).contains("after its deadline");
        assertThat(count(kept, "select x from precious")).as("dropped after the deadline").isEqualTo(7);

        // a redelivery after the refusal gets the same answer: the ledger keeps it
        send(EventType.RESTORE_DATABASE, late);
        StepReply again = StepReplies.fromJson(
                replies.awaitCount(isReplyTo(late.commandId()), 2, WAIT).get(1).value());
        assertThat(again).isEqualTo(reply);
        assertThat(exists(target)).isFalse();
        Databases.dropDatabase(kept);
    }

    @Test
    void aCorruptChunkInATablesDataFailsTheStreamedRestoreNamingItAndLeavesNoDatabase() throws Exception {
        BackupLocation location = freshBackup();
        Repository repository = repositories.open(BUCKET, location.repositoryPrefix()).orElseThrow();
        Manifest manifest = repository.manifest(location.chainId(), location.backupId()).orElseThrow();
        // the largest table's data: pg_restore is loading it from its pipe when the bad chunk comes
        Manifest.FileEntry largest = manifest.files().stream().filter(f -> f.path().matches("\\d+\\.dat"))
                .max(Comparator.comparingLong(Manifest.FileEntry::size)).orElseThrow();
        Manifest.ChunkRef bad = largest.chunks().getLast();
        byte[] garbage = new byte[bad.storedSize()];
        new java.util.Random(7).nextBytes(garbage);
        store.put(BUCKET, repository.layout().chunk(location.chainId(), bad.id()), garbage);
        String runId = UUID.randomUUID().toString();
        String target = "recov_corrupt_" + runId.substring(0, 8);
        RestoreDatabase restore = new RestoreDatabase(RecoveryCommand.commandId(runId, 1, "restore"), runId, 1,
                location, target(target), 2);

        send(EventType.RESTORE_DATABASE, restore);
        StepReply reply = awaitReply(restore.commandId());

        assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(reply.message()).contains("backup " + location.backupId() + " cannot be restored")
                .contains(largest.path()).contains(bad.id());
        assertThat(exists(target)).as("the partly restored %s is dropped", target).isFalse();
    }

    @Test
    void aLocationInAnotherSourcesRepositoryIsRefusedBeforeAnythingIsReadOrCreated() {
        BackupLocation other = backup();
        // the place of another source's backup, passed off as a backup of "shop" (what a forged reply could name)
        BackupLocation forged = new BackupLocation(other.backupId(), "shop", other.bucket(), other.repositoryPrefix(),
                other.chainId(), other.manifestKey(), other.completedAt(), other.sizeBytes(), other.rawBytes(),
                other.verification(), other.manifestSha256());
        String runId = UUID.randomUUID().toString();
        String target = "recov_foreign_" + runId.substring(0, 8);
        RestoreDatabase restore = new RestoreDatabase(RecoveryCommand.commandId(runId, 1, "restore"), runId, 1,
                forged, target(target), 1);

        send(EventType.RESTORE_DATABASE, restore);
        StepReply reply = awaitReply(restore.commandId());

        assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(reply.message()).contains("s3://" + BUCKET + "/" + other.repositoryPrefix())
                .contains("is not the repository of source shop").contains("nothing read");
        assertThat(exists(target)).isFalse();
    }

    @Test
    void aManifestReplacedByAnOlderOneOfTheSameSourceIsRefusedByTheRestoreNamingTheMismatch() throws IOException {
        BackupLocation older = freshBackup();
        // a newer backup of the same source, in the same repository
        Repository repository = repositories.open(BUCKET, older.repositoryPrefix()).orElseThrow();
        Path files = Files.createTempDirectory("recovery-test-newer");
        Files.writeString(files.resolve("toc.dat"), "newer");
        String newerId = UUID.randomUUID().toString();
        WriteResult newer = repository.writer().write(files, BackupType.INCREMENTAL,
                ChainContext.latestChain(newerId));
        BackupLocation location = new BackupLocation(newerId, older.sourceId(), BUCKET, older.repositoryPrefix(),
                newer.manifest().chainId(), repository.layout().manifest(newer.manifest().chainId(), newerId),
                Instant.now(), 1, 1, "QUICK_OK", newer.manifestSha256());
        // someone who can write to the bucket, without any key, puts the older manifest in the newer one's place
        try (InputStream in = store.open(BUCKET, older.manifestKey())) {
            store.put(BUCKET, location.manifestKey(), in.readAllBytes());
        }
        String runId = UUID.randomUUID().toString();
        String target = "recov_replaced_" + runId.substring(0, 8);
        RestoreDatabase restore = new RestoreDatabase(RecoveryCommand.commandId(runId, 1, "restore"), runId, 1,
                location, target(target), 1);

        send(EventType.RESTORE_DATABASE, restore);
        StepReply reply = awaitReply(restore.commandId());

        assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(reply.message()).contains("backup " + newerId + " cannot be restored")
                .contains(location.manifestKey()).contains("is not the one sealed")
                .contains("sealed " + newer.manifestSha256()).contains(older.manifestSha256());
        assertThat(exists(target)).isFalse();
    }

    @Test
    void restoreRefusesATargetThatExistsAlready() {
        String runId = UUID.randomUUID().toString();
        String target = "recov_exists_" + runId.substring(0, 8);
        Databases.createDatabase(target);
        Databases.execute(target, "CREATE TABLE precious (x int); INSERT INTO precious VALUES (42)");
        RestoreDatabase restore = new RestoreDatabase(RecoveryCommand.commandId(runId, 1, "restore"), runId, 1,
                backup(), target(target), 1);

        send(EventType.RESTORE_DATABASE, restore);
        StepReply reply = awaitReply(restore.commandId());

        assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(reply.message()).contains(target).contains("already exists").contains(restore.commandId());
        assertThat(count(target, "select x from precious")).isEqualTo(42);
        Databases.dropDatabase(target);
    }

    @Test
    void verifyDatabaseReportsEveryCheckAndFailsNamingTheFailingOnes() {
        String db = source();
        String runId = UUID.randomUUID().toString();
        long customers = count(db, "select count(*) from shop.customers");
        VerifyDatabase passing = new VerifyDatabase(RecoveryCommand.commandId(runId, 2, "verify-database"), runId, 2,
                target(db), List.of(
                new SqlCheck("customers present", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "shop.customers", 1L, null, null),
                new SqlCheck("customer count", SqlCheck.Kind.QUERY_EQUALS, null, null,
                        "select count(*) from shop.customers", String.valueOf(customers))));
        VerifyDatabase failing = new VerifyDatabase(RecoveryCommand.commandId(runId, 3, "verify-database"), runId, 3,
                target(db), List.of(
                new SqlCheck("too many customers", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "shop.customers",
                        1_000_000_000L, null, null),
                new SqlCheck("sneaky table", SqlCheck.Kind.ROW_COUNT_AT_LEAST,
                        "shop.customers; drop table shop.payments", 0L, null, null),
                new SqlCheck("no writes", SqlCheck.Kind.QUERY_EQUALS, null, null,
                        "delete from shop.payments returning 1", "1"),
                new SqlCheck("one is one", SqlCheck.Kind.QUERY_EQUALS, null, null, "select 1", "1")));

        send(EventType.VERIFY_DATABASE, passing);
        send(EventType.VERIFY_DATABASE, failing);
        StepReply ok = awaitReply(passing.commandId());
        StepReply bad = awaitReply(failing.commandId());

        assertThat(ok.outcome()).as(ok.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(checks(ok)).extracting(c -> c.get("passed")).containsExactly(true, true);
        assertThat(checks(ok).get(1)).containsEntry("actual", String.valueOf(customers));
        assertThat(bad.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(checks(bad)).extracting(c -> c.get("name"), c -> c.get("passed")).containsExactly(
                org.assertj.core.groups.Tuple.tuple("too many customers", false),
                org.assertj.core.groups.Tuple.tuple("sneaky table", false),
                org.assertj.core.groups.Tuple.tuple("no writes", false),
                org.assertj.core.groups.Tuple.tuple("one is one", true));
        assertThat(checks(bad).get(0)).containsEntry("actual", String.valueOf(customers));
        assertThat(checks(bad).get(2).get("detail").toString()).contains("read-only");
        assertThat(bad.message()).contains("3 of 4 checks failed").contains("too many customers")
                .contains("sneaky table").contains("no writes").doesNotContain("one is one");
        assertThat(count(db, "select count(*) from shop.payments")).isPositive();
    }

    /**
     * Restores {@code location} into a new database, where TABLE_MATCHES_SOURCE passes on one table and on all (a
     * table of an extension created there left aside), then deletes a row of shop.events, which both checks name;
     * returns the restored database.
     */
    private String tableMatchesSourceOn(BackupLocation location, String runId, String targetPrefix) {
        String target = targetPrefix + runId.substring(0, 8);
        Databases.dropDatabase(target);
        RestoreDatabase restore = new RestoreDatabase(RecoveryCommand.commandId(runId, 1, "restore"), runId, 1,
                location, target(target), 2);
        send(EventType.RESTORE_DATABASE, restore);
        assertThat(awaitReply(restore.commandId()).outcome()).isEqualTo(StepReply.Outcome.COMPLETED);
        // a table an extension owns is the extension's, not the backup's: "*" leaves it alone
        Databases.execute(target, "create extension citext; create table public.of_extension (x int); "
                + "alter extension citext add table public.of_extension");
        List<SqlCheck> checks = List.of(
                new SqlCheck("events as backed up", SqlCheck.Kind.TABLE_MATCHES_SOURCE, "shop.events", null, null, null),
                new SqlCheck("every table as backed up", SqlCheck.Kind.TABLE_MATCHES_SOURCE, SqlCheck.ALL_TABLES,
                        null, null, null));
        VerifyDatabase faithful = new VerifyDatabase(RecoveryCommand.commandId(runId, 2, "verify-database"), runId, 2,
                target(target), checks, location);

        send(EventType.VERIFY_DATABASE, faithful);
        StepReply ok = awaitReply(faithful.commandId());

        assertThat(ok.outcome()).as(ok.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(checks(ok).get(0).get("detail").toString()).contains("shop.events matches the backup");
        assertThat(checks(ok).get(1).get("detail").toString()).contains("tables match the backup");

        Databases.execute(target, "DELETE FROM shop.events WHERE ctid = (SELECT min(ctid) FROM shop.events)");
        VerifyDatabase altered = new VerifyDatabase(RecoveryCommand.commandId(runId, 3, "verify-database"), runId, 3,
                target(target), checks, location);
        send(EventType.VERIFY_DATABASE, altered);
        StepReply bad = awaitReply(altered.commandId());

        assertThat(bad.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(checks(bad)).extracting(c -> c.get("passed")).containsExactly(false, false);
        assertThat(checks(bad).get(0).get("detail").toString()).contains("shop.events: restored")
                .contains("the backup recorded");
        assertThat(checks(bad).get(1).get("detail").toString()).contains("shop.events").doesNotContain("shop.customers");
        assertThat(bad.message()).contains("events as backed up").contains("shop.events");
        return target;
    }

    @Test
    void tableMatchesSourcePassesOnAFaithfulRestoreAndNamesTheTableThatWasAltered() {
        String runId = UUID.randomUUID().toString();
        String target = tableMatchesSourceOn(backup(), runId, "recov_match_");

        // a statement list does not even pass the command's schema: the record is dead-lettered, nothing runs
        VerifyDatabase listed = new VerifyDatabase(RecoveryCommand.commandId(runId, 5, "verify-database"), runId, 5,
                target(target), List.of(new SqlCheck("commit trick", SqlCheck.Kind.QUERY_EQUALS, null, null,
                "commit; delete from shop.customers", "1")));
        send(EventType.VERIFY_DATABASE, listed);
        ConsumerRecord<String, String> dead = deadLetters.await(r -> r.value() != null
                && r.value().contains(listed.commandId()), WAIT);
        assertThat(EventCodec.header(dead.headers(), "dead-letter-reason")).contains("sql");

        VerifyDatabase hostile = new VerifyDatabase(RecoveryCommand.commandId(runId, 4, "verify-database"), runId, 4,
                target(target), List.of(new SqlCheck("writes", SqlCheck.Kind.QUERY_EQUALS, null, null,
                "insert into shop.events select * from shop.events returning 1", "1"),
                new SqlCheck("program", SqlCheck.Kind.QUERY_EQUALS, null, null,
                        "copy (select 1) to program 'touch /tmp/lifeboat-" + runId + "'", "1"),
                new SqlCheck("long value", SqlCheck.Kind.QUERY_EQUALS, null, null, "select repeat('x', 5000)", "x")));
        send(EventType.VERIFY_DATABASE, hostile);
        StepReply refused = awaitReply(hostile.commandId());

        assertThat(refused.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(checks(refused).get(0).get("detail").toString()).contains("refused").contains("'insert'");
        assertThat(checks(refused).get(1).get("detail").toString()).contains("'copy'");
        assertThat(checks(refused).get(2).get("actual").toString()).hasSizeLessThan(300).contains("5000 characters");
        assertThat(Path.of("/tmp/lifeboat-" + runId)).doesNotExist();
        assertThat(count(target, "select count(*) from shop.customers")).isPositive();
        Databases.dropDatabase(target);
    }

    @Test
    void tableMatchesSourceReadsAnInheritingTableInItsDumpedOrderAndLeavesAStandbysUnloggedTablesAside() {
        String runId = UUID.randomUUID().toString();
        String source = "recov_heir_" + runId.substring(0, 8);
        String target = "recov_heir_dst_" + runId.substring(0, 8);
        Databases.createDatabase(source);
        try {
            // the column added to the parent comes last in the child; a restore puts inherited columns first
            Databases.execute(source, "create schema shop; create table shop.base (a int, b text); "
                    + "create table shop.heir (own text) inherits (shop.base); "
                    + "alter table shop.base add column c int; "
                    + "insert into shop.heir values (1, 'x', 'mine', 7), (2, null, 'more', null); "
                    + "insert into shop.base values (10, 'parent', 3); "
                    + "create unlogged table shop.scratch (x int); insert into shop.scratch values (1)");
            // a standby's dump holds no data of unlogged tables: the restore creates them empty
            BackupLocation location = freshBackup(source, false, List.of("--no-unlogged-table-data"));
            RestoreDatabase restore = new RestoreDatabase(RecoveryCommand.commandId(runId, 1, "restore"), runId, 1,
                    location, target(target), 2);
            send(EventType.RESTORE_DATABASE, restore);
            assertThat(awaitReply(restore.commandId()).outcome()).isEqualTo(StepReply.Outcome.COMPLETED);
            assertThat(count(target, "select count(*) from pg_attribute where attrelid = 'shop.heir'::regclass "
                    + "and attname = 'own' and attnum = 4")).as("the restored child's own column comes last").isOne();
            List<SqlCheck> checks = List.of(new SqlCheck("every table as backed up",
                    SqlCheck.Kind.TABLE_MATCHES_SOURCE, SqlCheck.ALL_TABLES, null, null, null));
            VerifyDatabase verify = new VerifyDatabase(RecoveryCommand.commandId(runId, 2, "verify-database"), runId,
                    2, target(target), checks, location);
            send(EventType.VERIFY_DATABASE, verify);
            StepReply ok = awaitReply(verify.commandId());
            assertThat(ok.outcome()).as(ok.message()).isEqualTo(StepReply.Outcome.COMPLETED);
            assertThat(checks(ok).getFirst().get("detail").toString()).contains("all 2 tables match the backup")
                    .contains("1 unlogged table whose data the backup holds none of").contains("shop.scratch");
            // one that holds rows after all was not restored from this backup
            Databases.execute(target, "insert into shop.scratch values (2)");

            Databases.execute(target, "alter table shop.heir drop column own");
            VerifyDatabase lacking = new VerifyDatabase(RecoveryCommand.commandId(runId, 3, "verify-database"), runId,
                    3, target(target), checks, location);
            send(EventType.VERIFY_DATABASE, lacking);
            StepReply bad = awaitReply(lacking.commandId());
            assertThat(bad.outcome()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(checks(bad).getFirst().get("detail").toString())
                    .contains("shop.heir: restored without the column(s) own").doesNotContain("shop.base")
                    .contains("shop.scratch: restored, but the backup recorded nothing for it");
        } finally {
            Databases.dropDatabase(target);
            Databases.dropDatabase(source);
        }
    }

    @Test
    void tableMatchesSourceStillChecksABackupRecordedWithTheEarlierMethod() {
        String target = tableMatchesSourceOn(freshBackup(true), UUID.randomUUID().toString(), "recov_match1_");
        Databases.dropDatabase(target);
    }

    @Test
    void aDumpsOwnCodeRunsAsTheRestoredDatabasesOwnRoleNotTheTargetUserAndTheDropTakesTheRoleAlong() throws Exception {
        String runId = UUID.randomUUID().toString();
        String source = "recov_planted_" + runId.substring(0, 8);
        String target = "recov_planted_dst_" + runId.substring(0, 8);
        // written by the server when the planted function runs with a superuser's rights (the target user here)
        Path marker = Path.of("/tmp", "lifeboat-planted-" + runId.substring(0, 8));
        String owner = "lifeboat_owner_";
        Databases.createDatabase(source);
        try {
            // the source's owner plants a function in a CHECK constraint: PostgreSQL calls it for every row COPY loads.
            // It writes a file (a superuser may), and hands the role it runs as to a role of the attacker's (before
            // PostgreSQL 16 a role logged in as itself may grant itself)
            String attacker = "recov_attacker_" + runId.substring(0, 8);
            Databases.execute("postgres", "create role " + attacker);
            Databases.execute(source, "create function public.probe(int) returns boolean language plpgsql as $$ "
                    + "begin begin execute pg_catalog.format('copy (select current_user) to %L', '" + marker
                    + "'); exception when others then null; end; "
                    + "if current_user::text like 'lifeboat_owner_%' then begin execute pg_catalog.format("
                    + "'grant %I to " + attacker + "', current_user); exception when others then null; end; end if; "
                    + "return true; end $$; "
                    + "create table public.planted (id int check (public.probe(id))); "
                    + "insert into public.planted values (1), (2)");
            Files.deleteIfExists(marker);
            Databases.execute(source, "select public.probe(0)");
            assertThat(marker).as("run by a superuser, the planted code writes its file").exists();
            Files.delete(marker);

            BackupLocation location = freshBackup(source, false, List.of());
            RestoreDatabase restore = new RestoreDatabase(RecoveryCommand.commandId(runId, 1, "restore"), runId, 1,
                    location, target(target), 2);
            send(EventType.RESTORE_DATABASE, restore);
            StepReply reply = awaitReply(restore.commandId());
            assertThat(reply.outcome()).as(reply.message()).isEqualTo(StepReply.Outcome.COMPLETED);
            assertThat(marker).as("loaded as the restored database's own role: no superuser rights").doesNotExist();
            assertThat(count(target, "select count(*) from public.planted")).isEqualTo(2);
            owner = (String) reply.result().get("owner");
            assertThat(owner).startsWith("lifeboat_owner_");
            assertThat(count(target, "select count(*) from pg_tables where tablename = 'planted' and tableowner = '"
                    + owner + "'")).as("the table belongs to it").isOne();
            assertThat(count("postgres", "select count(*) from pg_database d join pg_roles r on r.oid = d.datdba "
                    + "where d.datname = '" + target + "' and r.rolname = '" + owner + "'")).isOne();
            assertThat(count("postgres", "select count(*) from pg_roles where rolname = '" + owner + "' and not "
                    + "rolcanlogin and not rolsuper and not rolcreatedb and not rolcreaterole and not rolbypassrls"))
                    .as("it logs in no more, and may do nothing beyond its own objects").isOne();
            assertThat(count("postgres", "select count(*) from pg_auth_members m join pg_roles r on r.oid = m.roleid "
                    + "join pg_roles a on a.oid = m.member where r.rolname = '" + owner + "' and a.rolname = '"
                    + attacker + "'")).as("the membership the dump's code granted is revoked").isZero();
            // (PostgreSQL 15.18 already refuses the self-grant; RestoreOwnerTest revokes one made otherwise)

            DropDatabase drop = new DropDatabase(RecoveryCommand.commandId(runId, 2, "drop"), runId, 2,
                    target(target));
            send(EventType.DROP_DATABASE, drop);
            assertThat(awaitReply(drop.commandId()).result()).containsEntry("dropped", true);
            assertThat(count("postgres", "select count(*) from pg_roles where rolname = '" + owner + "'"))
                    .as("the role went with its database").isZero();
        } finally {
            Files.deleteIfExists(marker);
            Databases.dropDatabase(target);
            Databases.dropDatabase(source);
            Databases.execute("postgres", "drop role if exists " + owner);
            Databases.execute("postgres", "drop role if exists recov_attacker_" + runId.substring(0, 8));
        }
    }

    @Test
    void dropDatabaseDropsItAndASecondDropFindsNothingToDrop() {
        String runId = UUID.randomUUID().toString();
        String db = "recov_drop_" + runId.substring(0, 8);
        Databases.createDatabase(db);
        DropDatabase drop = new DropDatabase(RecoveryCommand.commandId(runId, 9, "drop"), runId, 9, target(db));
        DropDatabase dropAgain = new DropDatabase(RecoveryCommand.commandId(runId, 10, "drop"), runId, 10, target(db));

        send(EventType.DROP_DATABASE, drop);
        StepReply first = awaitReply(drop.commandId());
        send(EventType.DROP_DATABASE, dropAgain);
        StepReply second = awaitReply(dropAgain.commandId());

        assertThat(first.outcome()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(first.result()).containsEntry("dropped", true);
        assertThat(count("postgres", "select count(*) from pg_database where datname = '" + db + "'")).isZero();
        assertThat(second.outcome()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(second.result()).containsEntry("dropped", false);
    }

    @Test
    void anInvalidCommandRecordGoesToTheDeadLetterTopicAndTheNextCommandIsAnswered() {
        String runId = UUID.randomUUID().toString();
        sendRaw(EventType.DROP_DATABASE, runId, "{\"commandId\": 17, \"not\": ");
        DropDatabase drop = new DropDatabase(RecoveryCommand.commandId(runId, 1, "drop"), runId, 1,
                target("recov_never_" + runId.substring(0, 8)));
        send(EventType.DROP_DATABASE, drop);

        ConsumerRecord<String, String> dead = deadLetters.await(r -> runId.equals(r.key()), WAIT);
        assertThat(EventCodec.header(dead.headers(), "dead-letter-reason")).isNotBlank();
        assertThat(awaitReply(drop.commandId()).result()).containsEntry("dropped", false);
    }

    @Test
    void aDropTheCoordinatorNeverSentIsDeadLetteredUnansweredAndTheDatabaseStays() {
        // whoever holds the coordinator's Kafka credentials writes a drop the registered target's pattern allows
        String runId = UUID.randomUUID().toString();
        String db = "recov_kept_" + runId.substring(0, 8);
        Databases.createDatabase(db);
        Databases.execute(db, "CREATE TABLE precious (x int); INSERT INTO precious VALUES (7)");
        try {
            DropDatabase forged = new DropDatabase(RecoveryCommand.commandId(runId, 0, "drop"), runId, 0, target(db));
            sendRaw(EventType.DROP_DATABASE, runId, EventCodec.encodeData(forged));
            DropDatabase genuine = new DropDatabase(RecoveryCommand.commandId(runId, 1, "drop"), runId, 1,
                    target("recov_never_" + runId.substring(0, 8)));
            send(EventType.DROP_DATABASE, genuine);

            ConsumerRecord<String, String> dead = deadLetters.await(r -> runId.equals(r.key()), WAIT);
            assertThat(EventCodec.header(dead.headers(), "dead-letter-reason"))
                    .contains("sent no command " + forged.commandId()).contains("nothing was done");
            List<ConsumerRecord<String, String>> answered = replies.awaitCount(r -> r.value() != null
                    && r.value().contains(runId), 1, WAIT);
            assertThat(answered.getFirst().value()).as("the consumer goes on with the next command; the forged one "
                    + "is never answered").contains(genuine.commandId()).doesNotContain(forged.commandId());
            assertThat(count(db, "select count(*) from precious")).isEqualTo(1);
        } finally {
            Databases.dropDatabase(db);
        }
    }

    @Test
    void aCommandUnderTheIdOfOneTheCoordinatorWaitsForButWithOtherContentIsDeadLetteredAndTheGenuineOneRuns() {
        String runId = UUID.randomUUID().toString();
        String db = "recov_swap_" + runId.substring(0, 8);
        Databases.createDatabase(db);
        Databases.execute(db, "CREATE TABLE precious (x int); INSERT INTO precious VALUES (7)");
        try {
            DropDatabase genuine = new DropDatabase(RecoveryCommand.commandId(runId, 0, "drop"), runId, 0,
                    target("recov_scratch_" + runId.substring(0, 8)));
            issue(EventType.DROP_DATABASE, genuine);
            // the same command id, aimed at another database the pattern allows, and under another type
            DropDatabase swapped = new DropDatabase(genuine.commandId(), runId, 0, target(db));
            sendRaw(EventType.DROP_DATABASE, runId, EventCodec.encodeData(swapped));
            VerifyDatabase retyped = new VerifyDatabase(genuine.commandId(), runId, 0, target(db), List.of(
                    new SqlCheck("precious", SqlCheck.Kind.QUERY_EQUALS, null, null, "select count(*) from precious",
                            "1")), null);
            sendRaw(EventType.VERIFY_DATABASE, runId, EventCodec.encodeData(retyped));
            List<ConsumerRecord<String, String>> dead = deadLetters.awaitCount(r -> runId.equals(r.key()), 2, WAIT);
            assertThat(EventCodec.header(dead.get(0).headers(), "dead-letter-reason"))
                    .contains("differs from the one recovery-coordinator sent in target");
            assertThat(EventCodec.header(dead.get(1).headers(), "dead-letter-reason"))
                    .contains("as DROP_DATABASE, not VERIFY_DATABASE");
            assertThat(count(db, "select count(*) from precious")).isEqualTo(1);

            sendRaw(EventType.DROP_DATABASE, runId, EventCodec.encodeData(genuine));
            StepReply reply = awaitReply(genuine.commandId());
            assertThat(reply.outcome()).as("the refused ones did not use up the genuine command's id")
                    .isEqualTo(StepReply.Outcome.COMPLETED);
            assertThat(reply.result()).containsEntry("dropped", false);
            assertThat(count(db, "select count(*) from precious")).isEqualTo(1);
        } finally {
            Databases.dropDatabase(db);
        }
    }

    @Test
    void aCommandTheCoordinatorNoLongerWaitsForIsNotRunNorAnswered() {
        String runId = UUID.randomUUID().toString();
        String db = "recov_late_" + runId.substring(0, 8);
        Databases.createDatabase(db);
        try {
            DropDatabase timedOut = new DropDatabase(RecoveryCommand.commandId(runId, 0, "drop"), runId, 0,
                    target(db));
            issue(EventType.DROP_DATABASE, timedOut);
            CoordinatorStandIn.get().answered(timedOut.commandId());
            // under its id, aimed elsewhere: compared with the coordinator's copy all the same
            DropDatabase swapped = new DropDatabase(timedOut.commandId(), runId, 0, target("recov_other_"
                    + runId.substring(0, 8)));
            sendRaw(EventType.DROP_DATABASE, runId, EventCodec.encodeData(swapped));
            sendRaw(EventType.DROP_DATABASE, runId, EventCodec.encodeData(timedOut));
            DropDatabase next = new DropDatabase(RecoveryCommand.commandId(runId, 1, "drop"), runId, 1,
                    target("recov_never_" + runId.substring(0, 8)));
            send(EventType.DROP_DATABASE, next);

            List<ConsumerRecord<String, String>> answered = replies.awaitCount(r -> r.value() != null
                    && r.value().contains(runId), 1, WAIT);
            assertThat(answered.getFirst().value()).contains(next.commandId()).doesNotContain(timedOut.commandId());
            assertThat(count("postgres", "select count(*) from pg_database where datname = '" + db + "'"))
                    .as("not dropped").isEqualTo(1);
            assertThat(EventCodec.header(deadLetters.await(r -> runId.equals(r.key()), WAIT).headers(),
                    "dead-letter-reason")).contains("differs from the one recovery-coordinator sent in target");
        } finally {
            Databases.dropDatabase(db);
        }
    }

    @Test
    void aTargetRegisteredWithVerifyFullIsRestoredIntoAndCheckedOverTlsAndOneWithAnotherCaIsRefused() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        Path ca = RecoveryCommandsTestResource.SECRET_DIR.resolve("target-ca.crt");
        Files.copy(stack.workDir().resolve("pg/root.crt"), ca, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path otherCa = RecoveryCommandsTestResource.SECRET_DIR.resolve("other-target-ca.crt");
        Path otherKey = Files.createTempFile("other-target-ca", ".key");
        Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", otherKey.toString(),
                "-out", otherCa.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        assertThat(openssl.waitFor()).isZero();
        Files.deleteIfExists(otherKey);
        String runId = UUID.randomUUID().toString();
        String tls = "tls-" + runId.substring(0, 8);
        String otherTls = "tls-other-" + runId.substring(0, 8);
        String passwordRef = "file:" + RecoveryCommandsTestResource.TARGET_PASSWORD_FILE;
        CoordinatorStandIn registry = CoordinatorStandIn.get();
        registry.register(tls, "127.0.0.1", stack.pgPort(), "postgres", passwordRef, "^recov_.*", "verify-full",
                "file:" + ca);
        registry.register(otherTls, "127.0.0.1", stack.pgPort(), "postgres", passwordRef, "^recov_.*", "verify-full",
                "file:" + otherCa);
        String db = "recov_tls_" + runId.substring(0, 8);
        DatabaseTarget target = new DatabaseTarget("127.0.0.1", stack.pgPort(), db, "postgres", passwordRef, tls);
        try {
            // pg_restore and every JDBC connection check the server's certificate against the registered CA
            RestoreDatabase restore = new RestoreDatabase(RecoveryCommand.commandId(runId, 0, "restore"), runId, 0,
                    backup(), target, 1);
            send(EventType.RESTORE_DATABASE, restore);
            StepReply restored = awaitReply(restore.commandId());
            assertThat(restored.outcome()).as(restored.message()).isEqualTo(StepReply.Outcome.COMPLETED);
            VerifyDatabase overTls = new VerifyDatabase(RecoveryCommand.commandId(runId, 1, "verify-database"),
                    runId, 1, target, List.of(new SqlCheck("over tls", SqlCheck.Kind.QUERY_EQUALS, null, null,
                    "select ssl::text from pg_stat_ssl where pid = pg_backend_pid()", "true")), null);
            send(EventType.VERIFY_DATABASE, overTls);
            StepReply verified = awaitReply(overTls.commandId());
            assertThat(verified.outcome()).as(verified.message()).isEqualTo(StepReply.Outcome.COMPLETED);

            DropDatabase wrongCa = new DropDatabase(RecoveryCommand.commandId(runId, 2, "drop"), runId, 2,
                    new DatabaseTarget("127.0.0.1", stack.pgPort(), db, "postgres", passwordRef, otherTls));
            send(EventType.DROP_DATABASE, wrongCa);
            StepReply refused = awaitReply(wrongCa.commandId());
            assertThat(refused.outcome()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(refused.message()).contains("cannot connect to 127.0.0.1:" + stack.pgPort());
            assertThat(exists(db)).as("not dropped through a server the CA does not vouch for").isTrue();
        } finally {
            Databases.dropDatabase(db);
        }
    }

    @Test
    void aReplyRecordedBeforeIsSentAgainWhenItsCommandComesAgainAfterTheCoordinatorStoppedWaiting() {
        // the reply was lost (the worker died before sending it) and the coordinator timed the step out meanwhile:
        // the late reply still counts there (a late restore is undone)
        String runId = UUID.randomUUID().toString();
        DropDatabase drop = new DropDatabase(RecoveryCommand.commandId(runId, 0, "drop"), runId, 0,
                target("recov_never_" + runId.substring(0, 8)));
        send(EventType.DROP_DATABASE, drop);
        assertThat(awaitReply(drop.commandId()).outcome()).isEqualTo(StepReply.Outcome.COMPLETED);
        CoordinatorStandIn.get().answered(drop.commandId());
        sendRaw(EventType.DROP_DATABASE, runId, EventCodec.encodeData(drop));
        List<ConsumerRecord<String, String>> both = replies.awaitCount(isReplyTo(drop.commandId()), 2, WAIT);
        assertThat(StepReplies.fromJson(both.get(1).value()).outcome()).isEqualTo(StepReply.Outcome.COMPLETED);
    }

    @Test
    void aCommandIsRunOnceTheCoordinatorAnswersAfterBeingAway() {
        String runId = UUID.randomUUID().toString();
        CoordinatorStandIn registry = CoordinatorStandIn.get();
        int readsBefore = registry.commandReads();
        registry.commandsUnavailable(2);
        DropDatabase drop = new DropDatabase(RecoveryCommand.commandId(runId, 0, "drop"), runId, 0,
                target("recov_never_" + runId.substring(0, 8)));
        send(EventType.DROP_DATABASE, drop);
        StepReply reply = awaitReply(drop.commandId());
        assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(registry.commandReads() - readsBefore).as("reads of the coordinator's commands")
                .isGreaterThanOrEqualTo(3);
    }

    @Test
    void aForgedRestoreToAServerNotRegisteredAsNamedIsRefusedAndNothingConnectsToIt() throws Exception {
        // a holder of the coordinator's Kafka credentials aims a source's backup and a source's password at a server
        // of their own: unregistered, under the registered server's name, and registered (by name) with another ref
        String runId = UUID.randomUUID().toString();
        String target = "recov_forged_" + runId.substring(0, 8);
        String sourcePassword = "file:" + RecoveryCommandsTestResource.SOURCE_PASSWORD_FILE;
        Databases.dropDatabase(target);
        CoordinatorStandIn registry = CoordinatorStandIn.get();
        try (Listener attacker = new Listener()) {
            registry.register("decoy-" + runId.substring(0, 8), "127.0.0.1", attacker.port(), "postgres",
                    "file:" + RecoveryCommandsTestResource.TARGET_PASSWORD_FILE, "^recov_.*");
            RestoreDatabase unregistered = new RestoreDatabase(RecoveryCommand.commandId(runId, 0, "restore"), runId,
                    0, backup(), new DatabaseTarget("127.0.0.1", attacker.port(), target, "postgres", sourcePassword,
                    "attacker"), 1);
            RestoreDatabase renamed = new RestoreDatabase(RecoveryCommand.commandId(runId, 1, "restore"), runId, 1,
                    backup(), new DatabaseTarget("127.0.0.1", attacker.port(), target, "postgres", sourcePassword,
                    RecoveryCommandsTestResource.SERVER), 1);
            RestoreDatabase otherRef = new RestoreDatabase(RecoveryCommand.commandId(runId, 2, "restore"), runId, 2,
                    backup(), new DatabaseTarget("127.0.0.1", attacker.port(), target, "postgres", sourcePassword,
                    "decoy-" + runId.substring(0, 8)), 1);

            send(EventType.RESTORE_DATABASE, unregistered);
            send(EventType.RESTORE_DATABASE, renamed);
            send(EventType.RESTORE_DATABASE, otherRef);
            StepReply toUnregistered = awaitReply(unregistered.commandId());
            StepReply toRenamed = awaitReply(renamed.commandId());
            StepReply withOtherRef = awaitReply(otherRef.commandId());

            assertThat(toUnregistered.outcome()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(toUnregistered.message()).contains("target server 'attacker' is not registered in "
                    + "recovery-coordinator");
            assertThat(toRenamed.outcome()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(toRenamed.message()).contains("port '" + attacker.port() + "' is not the registered '"
                    + LocalStack.ensureStarted().pgPort() + "'").contains("passwordRef '" + sourcePassword
                    + "' is not the registered").contains("nothing was connected to");
            assertThat(withOtherRef.outcome()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(withOtherRef.message()).contains("passwordRef '" + sourcePassword + "' is not the registered")
                    .doesNotContain("port");
            assertThat(attacker.connections()).as("connections to the forged server").isZero();
            assertThat(exists(target)).isFalse();
        }
    }

    @Test
    void aForgedDropOrReplaceOutsideTheTargetsPatternOrWithASourcesPasswordIsRefusedAndTheDatabaseStays() {
        String runId = UUID.randomUUID().toString();
        String production = "prod_orders_" + runId.substring(0, 8);
        String matching = "recov_prod_" + runId.substring(0, 8);
        for (String db : List.of(production, matching)) {
            Databases.createDatabase(db);
            Databases.execute(db, "CREATE TABLE precious (x int); INSERT INTO precious VALUES (7)");
        }
        try {
            DatabaseTarget registered = target(production);
            DropDatabase outside = new DropDatabase(RecoveryCommand.commandId(runId, 0, "drop"), runId, 0,
                    registered);
            RestoreDatabase replace = new RestoreDatabase(RecoveryCommand.commandId(runId, 1, "restore"), runId, 1,
                    backup(), registered, 1, true);
            // the registered server and database, but the password of a source (which here would work)
            DropDatabase sourcesPassword = new DropDatabase(RecoveryCommand.commandId(runId, 2, "drop"), runId, 2,
                    new DatabaseTarget(registered.host(), registered.port(), matching, "postgres",
                            "file:" + RecoveryCommandsTestResource.SOURCE_PASSWORD_FILE,
                            RecoveryCommandsTestResource.SERVER));

            send(EventType.DROP_DATABASE, outside);
            send(EventType.RESTORE_DATABASE, replace);
            send(EventType.DROP_DATABASE, sourcesPassword);

            for (String commandId : List.of(outside.commandId(), replace.commandId())) {
                StepReply reply = awaitReply(commandId);
                assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
                assertThat(reply.message()).contains("database '" + production + "' on target server 'test-targets'")
                        .contains("does not match the server's database pattern ^recov_.*");
            }
            StepReply refused = awaitReply(sourcesPassword.commandId());
            assertThat(refused.outcome()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(refused.message()).contains("refusing to drop").contains("passwordRef 'file:"
                    + RecoveryCommandsTestResource.SOURCE_PASSWORD_FILE + "' is not the registered 'file:"
                    + RecoveryCommandsTestResource.TARGET_PASSWORD_FILE + "'");
            assertThat(count(production, "select x from precious")).isEqualTo(7);
            assertThat(count(matching, "select x from precious")).isEqualTo(7);
        } finally {
            Databases.dropDatabase(production);
            Databases.dropDatabase(matching);
        }
    }

    @Test
    void aForgedVerifyOnAnUnregisteredServerRunsNoQueryAndReturnsNoValue() {
        String runId = UUID.randomUUID().toString();
        VerifyDatabase probe = new VerifyDatabase(RecoveryCommand.commandId(runId, 0, "verify-database"), runId, 0,
                new DatabaseTarget("127.0.0.1", LocalStack.ensureStarted().pgPort(), source(), "postgres",
                        "file:" + RecoveryCommandsTestResource.SOURCE_PASSWORD_FILE, "production"),
                List.of(new SqlCheck("exfiltrate", SqlCheck.Kind.QUERY_EQUALS, null, null,
                        "select string_agg(email, ',') from shop.customers", "x")));

        send(EventType.VERIFY_DATABASE, probe);
        StepReply reply = awaitReply(probe.commandId());

        assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(reply.message()).contains("refusing to verify")
                .contains("target server 'production' is not registered");
        assertThat(reply.result()).doesNotContainKey("checks");
    }

    @Test
    void aCommandNamingNoRegisteredServerIsRefusedNamingTheUpgradeItNeeds() {
        // a coordinator older than the registry check sends targets without their server's name
        String runId = UUID.randomUUID().toString();
        String db = "recov_unnamed_" + runId.substring(0, 8);
        Databases.createDatabase(db);
        try {
            DatabaseTarget t = target(db);
            DropDatabase drop = new DropDatabase(RecoveryCommand.commandId(runId, 0, "drop"), runId, 0,
                    new DatabaseTarget(t.host(), t.port(), t.database(), t.user(), t.passwordRef()));

            send(EventType.DROP_DATABASE, drop);
            StepReply reply = awaitReply(drop.commandId());

            assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(reply.message()).contains("names no registered target server")
                    .contains("upgrade recovery-coordinator");
            assertThat(exists(db)).isTrue();
        } finally {
            Databases.dropDatabase(db);
        }
    }

    @Test
    void aRegistryThatCannotBeReadIsRetriedThenFailsTheCommandNamingTheCoordinator() {
        String runId = UUID.randomUUID().toString();
        String server = "flaky-" + runId.substring(0, 8);
        String db = "recov_flaky_" + runId.substring(0, 8);
        Databases.createDatabase(db);
        try {
            CoordinatorStandIn registry = CoordinatorStandIn.get();
            DatabaseTarget t = target(db);
            registry.register(server, t.host(), t.port(), t.user(), t.passwordRef(), "^recov_.*");
            registry.unavailable(server);
            int readsBefore = registry.reads();
            DropDatabase drop = new DropDatabase(RecoveryCommand.commandId(runId, 0, "drop"), runId, 0,
                    new DatabaseTarget(t.host(), t.port(), db, t.user(), t.passwordRef(), server));

            send(EventType.DROP_DATABASE, drop);
            StepReply reply = awaitReply(drop.commandId());

            assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(reply.message()).contains("failed transiently").contains("recovery-coordinator")
                    .contains("answered 503 reading target server '" + server + "'");
            assertThat(registry.reads() - readsBefore).as("reads of the registry").isGreaterThan(1);
            assertThat(exists(db)).isTrue();
        } finally {
            Databases.dropDatabase(db);
        }
    }

    @Test
    void aDatabaseNameCarryingUrlParametersIsDeadLetteredAndNeverCreated() {
        // pgjdbc lets URL parameters override the connection's properties (the pinned search_path, sslmode)
        String runId = UUID.randomUUID().toString();
        String name = "recov_x" + runId.substring(0, 8);
        String forged = name + "?options=-csearch_path%3Dpublic&sslmode=disable";
        RestoreDatabase restore = new RestoreDatabase(RecoveryCommand.commandId(runId, 0, "restore"), runId, 0,
                backup(), target(forged), 1);

        send(EventType.RESTORE_DATABASE, restore);

        ConsumerRecord<String, String> dead = deadLetters.await(r -> runId.equals(r.key()), WAIT);
        assertThat(EventCodec.header(dead.headers(), "dead-letter-reason")).contains("database");
        assertThat(exists(forged)).isFalse();
        assertThat(exists(name)).isFalse();
    }

    // --- fixtures

    /** A server that counts connections and answers none: where a forged command would send the worker. */
    private static final class Listener implements AutoCloseable {
        private final java.net.ServerSocket socket;
        private final java.util.concurrent.atomic.AtomicInteger connections =
                new java.util.concurrent.atomic.AtomicInteger();

        Listener() throws IOException {
            socket = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                while (!socket.isClosed()) {
                    try (java.net.Socket s = socket.accept()) {
                        connections.incrementAndGet();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return socket.getLocalPort();
        }

        int connections() {
            return connections.get();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** A FULL backup of a sample database, written into the repository the way the worker writes one. */
    private synchronized BackupLocation backup() {
        if (backup == null) {
            backup = freshBackup();
        }
        return backup;
    }

    private BackupLocation freshBackup() {
        return freshBackup(false);
    }

    /**
     * A FULL backup of the sample database in a repository of its own; {@code earlierMethod}: with the fingerprints
     * an earlier worker recorded (md5-sum64-v1, hashed by the source server), as a backup taken before them has.
     */
    private BackupLocation freshBackup(boolean earlierMethod) {
        return freshBackup(source(), earlierMethod);
    }

    private BackupLocation freshBackup(String database, boolean earlierMethod) {
        return freshBackup(database, earlierMethod, List.of());
    }

    /** @param pgDumpOptions more options for pg_dump (e.g. what it leaves out when it dumps a standby) */
    private BackupLocation freshBackup(String database, boolean earlierMethod, List<String> pgDumpOptions) {
        String backupId = UUID.randomUUID().toString();
        String sourceId = "recov-src-" + backupId.substring(0, 8);
        String prefix = "recovery-test-" + backupId + "/" + sourceId;
        Path dump = null;
        try {
            dump = Files.createTempDirectory("recovery-test-dump").resolve("dump");
            Path pgDump = Path.of("/usr/lib/postgresql/15/bin/pg_dump");
            store.ensureBucket(BUCKET);
            Repository repository = repositories.openOrInit(BUCKET, prefix);
            WriteResult written;
            try (BackupFingerprinter fingerprints = BackupFingerprinter.open("127.0.0.1",
                    LocalStack.ensureStarted().pgPort(), database, "postgres",
                    LocalStack.ensureStarted().pgSuperPassword(), 10, pgDump.resolveSibling("pg_restore"))) {
                ProcessBuilder pb = new ProcessBuilder(pgDump.toString(), "--format=directory",
                        "--compress=0", "--jobs=2", "--no-password", "--encoding=UTF8", "--file=" + dump,
                        "--host=127.0.0.1", "--port=" + LocalStack.ensureStarted().pgPort(), "--username=postgres",
                        "--dbname=" + database, "--snapshot=" + fingerprints.snapshotId())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT);
                pb.command().addAll(pgDumpOptions);
                pb.environment().put("PGPASSWORD", LocalStack.ensureStarted().pgSuperPassword());
                pb.environment().put("PGOPTIONS", BackupFingerprinter.PG_OPTIONS);
                assertThat(pb.start().waitFor()).as("pg_dump exit code").isZero();
                // the files as the worker hands them to the writer: each read through the fingerprints, toc.dat last
                List<SnapshotWriter.Entry> entries = new ArrayList<>();
                try (Stream<Path> files = Files.list(dump)) {
                    files.sorted(Comparator.comparing((Path f) -> f.getFileName().toString().equals("toc.dat")))
                            .forEach(f -> entries.add(new SnapshotWriter.Entry(f.getFileName().toString(),
                                    () -> fingerprints.open(f, Files.newInputStream(f)))));
                }
                written = repository.writer().writeStreamed(entries.iterator(), BackupType.FULL,
                        ChainContext.latestChain(backupId), earlierMethod ? () -> earlierFingerprints(database)
                                : fingerprints::fingerprints);
            }
            Manifest m = written.manifest();
            return new BackupLocation(backupId, sourceId, BUCKET, prefix, m.chainId(),
                    repository.layout().manifest(m.chainId(), backupId), Instant.now(), m.stats().bytesUploaded(),
                    m.stats().bytesRead(), "QUICK_OK", written.manifestSha256());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            if (dump != null) {
                try (Stream<Path> files = Files.walk(dump.getParent())) {
                    files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
                } catch (IOException ignored) {
                    // a temporary directory
                }
            }
        }
    }

    /** md5-sum64-v1 as the source server computed it, on the (unchanging) sample database. */
    private static TableFingerprints earlierFingerprints(String database) {
        List<TableFingerprints.Table> tables = new ArrayList<>();
        try (Connection c = Databases.connect(database); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute("select set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true), "
                    + "set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '3', true), "
                    + "set_config('bytea_output', 'hex', true)");
            List<String[]> names = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("select n.nspname, c.relname, quote_ident(n.nspname) || '.' || "
                    + "quote_ident(c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                    + "where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') "
                    + "and n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast%'")) {
                while (rs.next()) {
                    names.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
                }
            }
            for (String[] t : names) {
                try (ResultSet rs = st.executeQuery("select count(*), coalesce(sum(('x' || left(md5(t::text), 16))"
                        + "::bit(64)::bigint), 0)::text from only " + t[2] + " as t")) {
                    rs.next();
                    tables.add(new TableFingerprints.Table(t[0], t[1], rs.getLong(1), rs.getString(2)));
                }
            }
            c.rollback();
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        return new TableFingerprints("md5-sum64-v1", tables);
    }

    private static synchronized String source() {
        if (sourceDb == null) {
            sourceDb = "recov_src_" + UUID.randomUUID().toString().substring(0, 8);
            Databases.createDatabase(sourceDb);
            Databases.loadSample(sourceDb, 1);
        }
        return sourceDb;
    }

    /** {@code database} on the registered target server, as the coordinator names it. */
    private static DatabaseTarget target(String database) {
        return new DatabaseTarget("127.0.0.1", LocalStack.ensureStarted().pgPort(), database, "postgres",
                "file:" + RecoveryCommandsTestResource.TARGET_PASSWORD_FILE, RecoveryCommandsTestResource.SERVER);
    }

    /** recovery-coordinator (its stand-in) records {@code command} as sent and waits for its reply. */
    static void issue(EventType type, RecoveryCommand command) {
        CoordinatorStandIn.get().issue(type.name(), command.commandId(), command.runId(), command.step(),
                EventCodec.encodeData(command));
    }

    /** {@code command} as recovery-coordinator sends it: recorded there as awaited, then on the commands topic. */
    private static void send(EventType type, RecoveryCommand command) {
        issue(type, command);
        sendRaw(type, command.runId(), EventCodec.encodeData(command));
    }

    private static void sendRaw(EventType type, String runId, String json) {
        try {
            producer.send(new ProducerRecord<>(Topics.RECOVERY_COMMANDS, null, runId, json,
                    EventCodec.headers(type, "/test/recovery-coordinator", runId))).get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot send " + type, e);
        }
    }

    private StepReply awaitReply(String commandId) {
        return StepReplies.fromJson(replies.await(isReplyTo(commandId), WAIT).value());
    }

    private static java.util.function.Predicate<ConsumerRecord<String, String>> isReplyTo(String commandId) {
        return r -> EventType.STEP_REPLIED.ceType().equals(EventCodec.header(r.headers(), EventCodec.H_TYPE))
                && r.value() != null && r.value().contains("\"commandId\":\"" + commandId + "\"");
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> checks(StepReply reply) {
        return (List<Map<String, Object>>) reply.result().get("checks");
    }

    private static boolean exists(String database) {
        return count("postgres", "select count(*) from pg_database where datname = '" + database + "'") > 0;
    }

    private static long count(String database, String sql) {
        try (Connection c = Databases.connect(database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
