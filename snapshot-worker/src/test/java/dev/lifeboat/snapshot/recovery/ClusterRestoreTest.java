package dev.lifeboat.snapshot.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
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
import dev.lifeboat.contracts.recovery.ClusterTarget;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.RecoveryTarget;
import dev.lifeboat.contracts.recovery.RemoveCluster;
import dev.lifeboat.contracts.recovery.RestoreCluster;
import dev.lifeboat.contracts.recovery.SqlCheck;
import dev.lifeboat.contracts.recovery.VerifyDatabase;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.kit.recovery.StepReplies;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.WriteResult;
import dev.lifeboat.repository.wal.WalArchive;
import dev.lifeboat.repository.wal.WalNames;
import dev.lifeboat.snapshot.archiver.LeaseStore;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.PgCluster;
import dev.lifeboat.testsupport.TableFingerprint;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Point-in-time restores of a physical source through the RestoreCluster command, against real Kafka, S3Proxy and
 * PostgreSQL clusters: a source of its own (archive_command copying WAL into a directory that the test uploads with
 * WalArchive.put), a pg_basebackup tar written into the repository, a marker table committed under write load, and
 * the restored cluster compared with the tables as they were at the target time.
 */
@QuarkusTest
@QuarkusTestResource(value = ClusterRestoreTestResource.class, restrictToAnnotatedClass = true)
class ClusterRestoreTest {
    static final String BUCKET = "lifeboat-cluster-restore-test";
    static final Duration WAIT = Duration.ofSeconds(150);
    /** Files a restored cluster would make if it ran the source's recovery_end_command or external_pid_file. */
    static final String RAN = "recovery-end-command-ran";
    static final String PID_FILE = "external.pid";
    /** The file the source's row-level security policy would write if a check ran it. */
    static final String POLICY_RAN = "policy-ran";
    /** The file the source's event trigger writes when DDL runs on a restored cluster. */
    static final String TRIGGER_RAN = "event-trigger-ran";
    static KafkaProducer<String, String> producer;
    private static Source source;

    @Inject
    Repositories repositories;
    @Inject
    ObjectStore store;
    @Inject
    LeaseStore leases;

    TopicTail replies;

    /** The physical source as the test left it: where its base backup and archived WAL are, and the oracle. */
    record Source(PgCluster cluster, Path baseBackup, Path archive, Instant targetTime,
                  Map<String, TableFingerprint> tablesAtTarget, List<Integer> markersBeforeTarget) {
    }

    @BeforeAll
    static void producer() {
        Map<String, Object> config = LocalStack.ensureStarted().kafkaClientConfig("recovery-coordinator");
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    @AfterAll
    static void cleanUp() {
        producer.close();
        if (source != null) {
            source.cluster().destroy();
        }
        stopClustersUnder(ClusterRestoreTestResource.DATA_ROOT);
        deleteRecursively(ClusterRestoreTestResource.ROOT);
    }

    @BeforeEach
    void tails() {
        replies = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN),
                Topics.SNAPSHOT_WORKER_REPLIES);
    }

    @AfterEach
    void closeTails() {
        replies.close();
    }

    @Test
    void restoresToATimeBetweenTwoMarkersExactlyAsTheSourceWasThenOnceChecksRunOnItAndRemovalDeletesIt()
            throws Exception {
        Source src = source();
        BackupLocation backup = upload(src, Set.of());
        String runId = UUID.randomUUID().toString();
        int port = freePort();
        ClusterTarget target = new ClusterTarget(ClusterRestoreTestResource.DATA_ROOT.toString(),
                "pitr-" + runId.substring(0, 8), port);
        RestoreCluster restore = new RestoreCluster(RecoveryCommand.commandId(runId, 0, "restore-cluster"), runId, 0,
                backup, target, RecoveryTarget.time(src.targetTime()), Instant.now().plus(WAIT));
        // the work directory an earlier cluster of that name left behind when its data directory was removed by hand
        Path leftover = ClusterRestoreTestResource.DATA_ROOT.resolve(target.name() + ".restore");
        Files.createDirectories(leftover.resolve("wal"));
        Files.writeString(leftover.resolve("postgres.log"), "an earlier cluster's log");

        send(EventType.RESTORE_CLUSTER, restore);
        StepReply reply = awaitReply(restore.commandId());

        assertThat(reply.outcome()).as(reply.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(leftover.resolve("postgres.log")).as("the leftover work directory was replaced").doesNotExist();
        assertThat(leftover.resolve("run").resolve("postgres.log")).content()
                .doesNotContain("an earlier cluster's log");
        assertThat(reply.result()).containsEntry("host", "127.0.0.1").containsEntry("port", port)
                .containsEntry("dataDirectory", ClusterRestoreTestResource.DATA_ROOT.resolve(target.name()).toString());
        for (String timing : List.of("manifestMillis", "fetchMillis", "extractWriteMillis", "chunkWaitMillis",
                "writeMillis", "walCheckMillis", "walFetchMillis", "walWaits", "replayMillis", "startMillis",
                "totalMillis")) {
            assertThat(reply.result()).containsKey(timing);
        }
        assertThat(((Number) reply.result().get("walFilesFetched")).intValue()).isPositive();
        assertThat(((Number) reply.result().get("extractedFiles")).intValue()).as("the base backup's files")
                .isGreaterThan(100);
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
        try (Connection c = DriverManager.getConnection(url, PgCluster.SUPERUSER, PgCluster.SUPERUSER_PASSWORD);
             Statement st = c.createStatement()) {
            // at once: the reply comes only after the end-of-recovery checkpoint, when the server takes writes
            assertThat(queryInts(st, "select case when pg_is_in_recovery() then 1 else 0 end"))
                    .as("promoted").containsExactly(0);
            assertThat(queryInts(st, "select id from markers order by id"))
                    .as("markers committed before %s", src.targetTime()).isEqualTo(src.markersBeforeTarget());
        }
        assertThat(TableFingerprint.of(url, PgCluster.SUPERUSER, PgCluster.SUPERUSER_PASSWORD))
                .as("every table as it was at the target time").isEqualTo(src.tablesAtTarget());
        assertSourceConfigurationNotObeyed(reply, url, ClusterRestoreTestResource.DATA_ROOT.resolve(target.name()));

        // checks on the restored cluster run over its private socket, with no password; TCP keeps the source's rules;
        // they run as the checker role, not a superuser, whatever the source left there for one (see source())
        VerifyDatabase verify = VerifyDatabase.onCluster(RecoveryCommand.commandId(runId, 1, "verify-database"),
                runId, 1, target, List.of(
                        new SqlCheck("markers restored", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "markers", 3L, null, null,
                                "postgres"),
                        new SqlCheck("exactly the markers before the target", SqlCheck.Kind.QUERY_EQUALS, null, null,
                                "select string_agg(id::text, ',' order by id) from markers", "1,2,3", "postgres"),
                        new SqlCheck("not a superuser", SqlCheck.Kind.QUERY_EQUALS, null, null,
                                "select current_setting('is_superuser')", "off", "postgres"),
                        new SqlCheck("a plain role", SqlCheck.Kind.QUERY_EQUALS, null, null,
                                "select (rolsuper or rolcreaterole or rolcreatedb or rolreplication)"
                                        + "::text from pg_roles where rolname = current_user", "false", "postgres"),
                        // a table with row-level security: counted without running the source's policies
                        new SqlCheck("guarded", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "guarded", 1L, null, null,
                                "postgres"),
                        new SqlCheck("a member of pg_read_all_data only", SqlCheck.Kind.QUERY_EQUALS, null, null,
                                "select string_agg(b.rolname, ',') from pg_auth_members m join pg_roles b "
                                        + "on b.oid = m.roleid where m.member = (select oid from pg_roles "
                                        + "where rolname = current_user)", "pg_read_all_data", "postgres")),
                Instant.now().plus(WAIT));
        send(EventType.VERIFY_DATABASE, verify);
        StepReply verified = awaitReply(verify.commandId());
        assertThat(verified.outcome()).as(verified.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(verified.message()).contains("all 6 checks passed on the restored cluster");
        assertThat(ClusterRestoreTestResource.ROOT.resolve(TRIGGER_RAN))
                .as("the source's event trigger never ran on the restored cluster").doesNotExist();
        assertThat(ClusterRestoreTestResource.ROOT.resolve(POLICY_RAN))
                .as("the source's row-level security policy never ran").doesNotExist();
        try (Connection c = DriverManager.getConnection(url, PgCluster.SUPERUSER, PgCluster.SUPERUSER_PASSWORD);
             Statement st = c.createStatement()) {
            assertThat(queryString(st, "select string_agg(evtname || ':' || evtenabled::text, ',' order by evtname) "
                    + "from pg_event_trigger")).as("the planted triggers were there, enabled always")
                    .isEqualTo("planted_end:A,planted_start:A");
            assertThat(queryString(st, "select (rolsuper or rolcanlogin or rolpassword is not null)::text || ',' "
                    + "|| (select count(*) from pg_auth_members where member = a.oid) || ',' "
                    + "|| (select count(*) from pg_db_role_setting where setrole = a.oid) "
                    + "from pg_authid a where rolname = 'lifeboat_checker'"))
                    .as("the source's role of the checker's name, after the checks: no superuser, no login, no "
                            + "password, no membership, no settings").isEqualTo("false,0,0");
        }
        VerifyDatabase failing = VerifyDatabase.onCluster(RecoveryCommand.commandId(runId, 2, "verify-database"),
                runId, 2, target, List.of(
                        new SqlCheck("a marker after the target", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "markers", 4L,
                                null, null, "postgres"),
                        new SqlCheck("hostile", SqlCheck.Kind.QUERY_EQUALS, null, null, "delete from markers", "0",
                                "postgres"),
                        new SqlCheck("nowhere", SqlCheck.Kind.ROW_COUNT_AT_LEAST, "markers", 1L, null, null, null)),
                Instant.now().plus(WAIT));
        send(EventType.VERIFY_DATABASE, failing);
        StepReply failed = awaitReply(failing.commandId());
        assertThat(failed.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(failed.message()).contains("3 of 3 checks failed").contains("has 3 rows, fewer than 4")
                .contains("hostile (refused").contains("nowhere (a check on a restored cluster names the database");
        assertThat(ClusterRestoreTestResource.ROOT.resolve(TRIGGER_RAN)).doesNotExist();
        try (Connection c = DriverManager.getConnection(url, PgCluster.SUPERUSER, PgCluster.SUPERUSER_PASSWORD);
             Statement st = c.createStatement()) {
            assertThat(queryInts(st, "select count(*)::int from markers")).as("the hostile query changed nothing")
                    .containsExactly(3);
        }
        assertThatThrownBy(() -> DriverManager.getConnection(url, PgCluster.SUPERUSER, "not-the-password").close())
                .as("no trust over TCP, though the source's pg_hba trusts 127.0.0.1")
                .hasMessageContaining("password authentication failed");

        // a redelivered command is answered again, and the running cluster is left alone
        send(EventType.RESTORE_CLUSTER, restore);
        StepReply again = StepReplies.fromJson(
                replies.awaitCount(isReplyTo(restore.commandId()), 2, WAIT).get(1).value());
        assertThat(again).isEqualTo(reply);
        assertThat(listening(port)).isTrue();

        // the compensation: the cluster stops and its directories go
        RemoveCluster remove = new RemoveCluster(RecoveryCommand.commandId(runId, 0, "remove-cluster"), runId, 0,
                target, Instant.now().plus(WAIT));
        send(EventType.REMOVE_CLUSTER, remove);
        StepReply removed = awaitReply(remove.commandId());

        assertThat(removed.outcome()).as(removed.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(removed.result()).containsEntry("removed", true);
        assertThat(ClusterRestoreTestResource.DATA_ROOT.resolve(target.name())).doesNotExist();
        assertThat(ClusterRestoreTestResource.DATA_ROOT.resolve(target.name() + ".restore")).doesNotExist();
        assertThat(listening(port)).as("something still listens on %d", port).isFalse();
    }

    /**
     * The cluster's OS user (code of any cluster restored before, or of this one) tries what a root worker writing by
     * name would obey: swapping the prefetcher's WAL directory, and its own directory, for links to a directory it
     * prepared while the restore runs; then it puts FIFOs in place of postmaster.pid and PG_VERSION, whose opening
     * would wait for a writer forever, before the cluster is removed.
     */
    @Test
    void theClustersOsUserCanNeitherRedirectTheWorkersWalWritesNorKeepItsClusterFromBeingRemoved() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "the cluster runs as another OS user only when the worker is root");
        Source src = source();
        BackupLocation backup = upload(src, Set.of());
        String runId = UUID.randomUUID().toString();
        ClusterTarget target = new ClusterTarget(ClusterRestoreTestResource.DATA_ROOT.toString(),
                "attack-" + runId.substring(0, 8), freePort());
        Path work = ClusterRestoreTestResource.DATA_ROOT.resolve(target.name() + ".restore");
        Path data = ClusterRestoreTestResource.DATA_ROOT.resolve(target.name());
        Path outside = ClusterRestoreTestResource.ROOT.resolve("outside-" + runId.substring(0, 8));
        Files.createDirectories(outside);
        List<String> segments;
        try (Stream<Path> files = Files.list(src.archive())) {
            segments = files.map(p -> p.getFileName().toString()).filter(WalNames::isSegment).sorted().toList();
        }
        for (String segment : segments) {
            Files.writeString(outside.resolve(segment), "planted");
        }
        chownToPostgres(outside);
        Process attacker = new ProcessBuilder("runuser", "-u", "postgres", "--", "sh", "-c", """
                while :; do
                  for d in wal run; do
                    [ -L '%1$s'/$d ] || { mv '%1$s'/$d '%1$s'/$d.moved 2>/dev/null && ln -s '%2$s' '%1$s'/$d; }
                  done
                  sleep 0.01
                done""".formatted(work, outside)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        StepReply reply;
        try {
            RestoreCluster restore = new RestoreCluster(RecoveryCommand.commandId(runId, 0, "restore-cluster"), runId,
                    0, backup, target, RecoveryTarget.latest(), Instant.now().plus(WAIT));
            send(EventType.RESTORE_CLUSTER, restore);
            reply = awaitReply(restore.commandId());
        } finally {
            // runuser's shell outlives runuser
            attacker.descendants().forEach(ProcessHandle::destroyForcibly);
            attacker.destroyForcibly().waitFor();
        }

        for (String segment : segments) {
            assertThat(outside.resolve(segment)).as("root's WAL writes never went where the links pointed")
                    .hasContent("planted");
        }
        try (Stream<Path> files = Files.list(outside)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .as("root wrote nothing into, and removed nothing from, the directory the links pointed at")
                    .isEqualTo(segments);
        }
        assertThat(reply.outcome()).as(reply.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(((Number) reply.result().get("walFilesFetched")).intValue()).isPositive();
        assertThat(Files.isSymbolicLink(work.resolve("wal")) || Files.isSymbolicLink(work.resolve("run")))
                .as("the OS user could not replace the worker's directories").isFalse();
        assertThat(Files.getOwner(work).getName()).isEqualTo("root");

        PgCluster.run(List.of("sh", "-c", ("mv '%1$s/postmaster.pid' '%1$s/postmaster.pid.aside' && mkfifo "
                + "'%1$s/postmaster.pid' && rm '%1$s/PG_VERSION' && mkfifo '%1$s/PG_VERSION'").formatted(data)), 30);
        RemoveCluster remove = new RemoveCluster(RecoveryCommand.commandId(runId, 0, "remove-cluster"), runId, 0,
                target, Instant.now().plus(WAIT));
        Instant sent = Instant.now();
        send(EventType.REMOVE_CLUSTER, remove);
        StepReply removed = awaitReply(remove.commandId());

        assertThat(Duration.between(sent, Instant.now())).as("no FIFO kept the removal waiting")
                .isLessThan(Duration.ofSeconds(20));
        assertThat(removed.outcome()).as(removed.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(removed.message()).contains("postmaster.pid is not a regular file");
        assertThat(data).doesNotExist();
        assertThat(work).doesNotExist();
        assertThat(listening(target.port())).as("the cluster was stopped").isFalse();
    }

    @Test
    void aMissingSegmentRefusesARestorePastItNamingTheLastReachablePointAndLeavesNothingBehind() throws Exception {
        Source src = source();
        List<String> archived;
        try (Stream<Path> files = Files.list(src.archive())) {
            archived = files.map(p -> p.getFileName().toString()).filter(WalNames::isSegment).sorted().toList();
        }
        // the segment before the newest: replay needs it after the base backup's own WAL
        String missing = archived.get(archived.size() - 2);
        String lastReachable = archived.get(archived.size() - 3);
        BackupLocation backup = upload(src, Set.of(missing));
        String runId = UUID.randomUUID().toString();
        ClusterTarget target = new ClusterTarget(ClusterRestoreTestResource.DATA_ROOT.toString(),
                "hole-" + runId.substring(0, 8), freePort());
        RestoreCluster restore = new RestoreCluster(RecoveryCommand.commandId(runId, 0, "restore-cluster"), runId, 0,
                backup, target, RecoveryTarget.latest(), Instant.now().plus(WAIT));

        send(EventType.RESTORE_CLUSTER, restore);
        StepReply reply = awaitReply(restore.commandId());

        assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(reply.message()).contains("WAL segment " + missing + " is missing")
                .contains("last reachable point is the end of segment " + lastReachable);
        assertThat(ClusterRestoreTestResource.DATA_ROOT.resolve(target.name())).doesNotExist();
        assertThat(ClusterRestoreTestResource.DATA_ROOT.resolve(target.name() + ".restore")).doesNotExist();

        // a time target is found only by replaying: PostgreSQL stops at the hole, and the reply names it
        ClusterTarget timed = new ClusterTarget(target.dataRoot(), "hole-time-" + runId.substring(0, 8), freePort());
        RestoreCluster toTime = new RestoreCluster(RecoveryCommand.commandId(runId, 1, "restore-cluster"), runId, 1,
                backup, timed, RecoveryTarget.time(src.targetTime()), Instant.now().plus(WAIT));
        send(EventType.RESTORE_CLUSTER, toTime);
        StepReply timedReply = awaitReply(toTime.commandId());

        assertThat(timedReply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(timedReply.message()).contains("WAL segment " + missing + " is missing")
                .contains("last reachable point is the end of segment " + lastReachable)
                .contains("PostgreSQL stopped");
        assertThat(ClusterRestoreTestResource.DATA_ROOT.resolve(timed.name())).doesNotExist();
        assertThat(listening(timed.port())).isFalse();

        // a data root the worker does not allow is refused before anything is created
        RestoreCluster elsewhere = new RestoreCluster(RecoveryCommand.commandId(runId, 2, "restore-cluster"), runId,
                2, backup, new ClusterTarget("/etc", "pg", timed.port()), RecoveryTarget.latest(),
                Instant.now().plus(WAIT));
        send(EventType.RESTORE_CLUSTER, elsewhere);
        StepReply refused = awaitReply(elsewhere.commandId());
        assertThat(refused.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(refused.message()).contains("data root '/etc' is not one this worker allows");
        assertThat(Path.of("/etc/pg")).doesNotExist();
    }

    @Test
    void anArchiveElsewhereOrEndingBeforeTheTargetRefusesTheRestoreBeforePostgresStartsNamingWhereItLooked()
            throws Exception {
        Source src = source();
        // the base backup in its policy's repository, its WAL archived somewhere else: this repository has none
        BackupLocation backup = upload(src, Set.of(), false);
        String runId = UUID.randomUUID().toString();
        String where = "s3://" + BUCKET + "/" + backup.repositoryPrefix() + "/wal/";
        int step = 0;
        for (RecoveryTarget wanted : List.of(RecoveryTarget.latest(), RecoveryTarget.time(src.targetTime()))) {
            ClusterTarget target = new ClusterTarget(ClusterRestoreTestResource.DATA_ROOT.toString(),
                    "empty-" + step + "-" + runId.substring(0, 8), freePort());
            RestoreCluster restore = new RestoreCluster(RecoveryCommand.commandId(runId, step, "restore-cluster"),
                    runId, step, backup, target, wanted, Instant.now().plus(WAIT));
            step++;
            send(EventType.RESTORE_CLUSTER, restore);
            StepReply reply = awaitReply(restore.commandId());

            assertThat(reply.outcome()).as(reply.message()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(reply.message()).contains(where).contains("holds nothing from the base backup's start segment")
                    .contains("the last reachable point is the end of the base backup's own WAL (LSN ")
                    .contains("is the WAL archiver running for source " + backup.sourceId())
                    .contains("the policy's destination").doesNotContain("PostgreSQL stopped");
            assertThat(ClusterRestoreTestResource.DATA_ROOT.resolve(target.name())).doesNotExist();
            assertThat(listening(target.port())).isFalse();
        }

        // an archive that is there but ends before the target: refused up front too, not left to replay
        BackupLocation archived = upload(src, Set.of(), true);
        for (RecoveryTarget wanted : List.of(RecoveryTarget.time(Instant.now().plusSeconds(3600)),
                new RecoveryTarget(RecoveryTarget.Kind.LSN, "FF/0"))) {
            ClusterTarget target = new ClusterTarget(ClusterRestoreTestResource.DATA_ROOT.toString(),
                    "short-" + step + "-" + runId.substring(0, 8), freePort());
            RestoreCluster restore = new RestoreCluster(RecoveryCommand.commandId(runId, step, "restore-cluster"),
                    runId, step, archived, target, wanted, Instant.now().plus(WAIT));
            step++;
            send(EventType.RESTORE_CLUSTER, restore);
            StepReply reply = awaitReply(restore.commandId());

            assertThat(reply.outcome()).as(reply.message()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(reply.message()).contains("s3://" + BUCKET + "/" + archived.repositoryPrefix() + "/wal/")
                    .contains("ends before " + wanted.describe()).contains("the last reachable point is")
                    .doesNotContain("PostgreSQL stopped");
            assertThat(ClusterRestoreTestResource.DATA_ROOT.resolve(target.name())).doesNotExist();
        }
    }

    @Test
    void aRestoreReplaysOnlyWalOfTheBaseBackupsClusterAndRefusesAnotherClustersNamingBoth() throws Exception {
        Source src = source();
        String cluster;
        try (Connection c = src.cluster().connect("postgres"); Statement st = c.createStatement()) {
            cluster = queryString(st, "select system_identifier::text from pg_control_system()");
        }
        String other = Long.toUnsignedString(Long.parseUnsignedLong(cluster) ^ 0x5a5aL);
        List<String> archived;
        try (Stream<Path> files = Files.list(src.archive())) {
            archived = files.map(p -> p.getFileName().toString()).filter(WalNames::isSegment).sorted().toList();
        }
        String runId = UUID.randomUUID().toString();

        // a segment of another cluster under a name replay needs (an archive that recorded no cluster, written
        // under one source id by two clusters): refused when restore_command asks for it, never replayed
        String foreign = archived.get(archived.size() - 2);
        BackupLocation mixed = upload(src, Set.of(foreign));
        byte[] content = Files.readAllBytes(src.archive().resolve(foreign));
        java.nio.ByteBuffer.wrap(content).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(24,
                Long.parseUnsignedLong(other));
        repositories.openOrInit(BUCKET, mixed.repositoryPrefix()).wal().put(foreign, content);
        ClusterTarget target = new ClusterTarget(ClusterRestoreTestResource.DATA_ROOT.toString(),
                "mixed-" + runId.substring(0, 8), freePort());
        RestoreCluster restore = new RestoreCluster(RecoveryCommand.commandId(runId, 0, "restore-cluster"), runId, 0,
                mixed, target, RecoveryTarget.latest(), Instant.now().plus(WAIT));
        send(EventType.RESTORE_CLUSTER, restore);
        StepReply reply = awaitReply(restore.commandId());
        assertThat(reply.outcome()).as(reply.message()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(reply.message()).contains("WAL segment " + foreign).contains("system identifier " + other)
                .contains("not by cluster " + cluster + " of the base backup").contains("rather than promoted short of its target");
        assertThat(ClusterRestoreTestResource.DATA_ROOT.resolve(target.name())).doesNotExist();
        assertThat(listening(target.port())).isFalse();

        // the archive now belongs to another cluster (the source's server was replaced, the old archive retired):
        // refused before PostgreSQL starts when no archive of the backup's cluster is left ...
        BackupLocation backup = upload(src, Set.of());
        WalArchive wal = repositories.openOrInit(BUCKET, backup.repositoryPrefix()).wal();
        wal.claim(cluster);
        wal.retire(cluster, Instant.now());
        wal.claim(other);
        List<String> retired = store.list(BUCKET, backup.repositoryPrefix() + "/wal-retired/");
        retired.forEach(key -> store.delete(BUCKET, key));
        ClusterTarget refusedTarget = new ClusterTarget(target.dataRoot(), "foreign-" + runId.substring(0, 8),
                freePort());
        RestoreCluster refusedRestore = new RestoreCluster(RecoveryCommand.commandId(runId, 1, "restore-cluster"),
                runId, 1, backup, refusedTarget, RecoveryTarget.latest(), Instant.now().plus(WAIT));
        send(EventType.RESTORE_CLUSTER, refusedRestore);
        StepReply refused = awaitReply(refusedRestore.commandId());
        assertThat(refused.outcome()).as(refused.message()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(refused.message()).contains("system identifier " + cluster)
                .contains("holds WAL of the cluster with system identifier " + other)
                .contains("WAL of another cluster is never replayed").doesNotContain("PostgreSQL stopped");
        assertThat(ClusterRestoreTestResource.DATA_ROOT.resolve(refusedTarget.name())).doesNotExist();

        // ... and restored from the retired archive of its cluster when there is one
        BackupLocation moved = upload(src, Set.of());
        WalArchive movedWal = repositories.openOrInit(BUCKET, moved.repositoryPrefix()).wal();
        movedWal.retire(cluster, Instant.now());
        movedWal.claim(other);
        ClusterTarget pickedTarget = new ClusterTarget(target.dataRoot(), "retired-" + runId.substring(0, 8),
                freePort());
        RestoreCluster picked = new RestoreCluster(RecoveryCommand.commandId(runId, 2, "restore-cluster"), runId, 2,
                moved, pickedTarget, RecoveryTarget.time(src.targetTime()), Instant.now().plus(WAIT));
        send(EventType.RESTORE_CLUSTER, picked);
        StepReply restored = awaitReply(picked.commandId());
        assertThat(restored.outcome()).as(restored.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(restored.result()).containsEntry("systemIdentifier", cluster);
        assertThat((String) restored.result().get("walArchive")).contains("/wal-retired/" + cluster + "-");
        String url = "jdbc:postgresql://127.0.0.1:" + pickedTarget.port() + "/postgres";
        try (Connection c = DriverManager.getConnection(url, PgCluster.SUPERUSER, PgCluster.SUPERUSER_PASSWORD);
             Statement st = c.createStatement()) {
            assertThat(queryInts(st, "select id from markers order by id")).isEqualTo(src.markersBeforeTarget());
        }
        RemoveCluster remove = new RemoveCluster(RecoveryCommand.commandId(runId, 2, "remove-cluster"), runId, 2,
                pickedTarget, Instant.now().plus(WAIT));
        send(EventType.REMOVE_CLUSTER, remove);
        assertThat(awaitReply(remove.commandId()).outcome()).isEqualTo(StepReply.Outcome.COMPLETED);
    }

    @Test
    void aLatestRestoreFromAnArchiveEndingBeforeWhatItsArchiversStoredIsRefusedAndOneThatReachesItIsRestored()
            throws Exception {
        Source src = source();
        String runId = UUID.randomUUID().toString();
        String cluster;
        try (Connection c = src.cluster().connect("postgres"); Statement st = c.createStatement()) {
            cluster = queryString(st, "select system_identifier::text from pg_control_system()");
        }
        String newest;
        try (Stream<Path> files = Files.list(src.archive())) {
            newest = files.map(p -> p.getFileName().toString()).filter(WalNames::isSegment).sorted()
                    .reduce((a, b) -> b).orElseThrow();
        }

        // the archivers stored WAL two segments past what the bucket now holds: its newest WAL was deleted
        BackupLocation cut = upload(src, Set.of());
        WalArchive cutWal = repositories.openOrInit(BUCKET, cut.repositoryPrefix()).wal();
        long end = WalNames.startLsn(newest, cutWal.segmentSize()) + cutWal.segmentSize();
        long stored = end + 2L * cutWal.segmentSize();
        recordHead(cut.sourceId(), cutWal.location(), cluster, WalNames.timeline(newest), stored);
        ClusterTarget cutTarget = new ClusterTarget(ClusterRestoreTestResource.DATA_ROOT.toString(),
                "cut-" + runId.substring(0, 8), freePort());
        RestoreCluster refusedRestore = new RestoreCluster(RecoveryCommand.commandId(runId, 0, "restore-cluster"),
                runId, 0, cut, cutTarget, RecoveryTarget.latest(), Instant.now().plus(WAIT));
        send(EventType.RESTORE_CLUSTER, refusedRestore);
        StepReply refused = awaitReply(refusedRestore.commandId());

        assertThat(refused.outcome()).as(refused.message()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(refused.message()).contains("the WAL archive " + cutWal.location() + " ends at LSN "
                        + WalNames.formatLsn(end))
                .contains("recorded storing WAL up to LSN " + WalNames.formatLsn(stored))
                .contains("restore to an explicit LSN or time up to LSN " + WalNames.formatLsn(end))
                .doesNotContain("PostgreSQL stopped");
        assertThat(ClusterRestoreTestResource.DATA_ROOT.resolve(cutTarget.name())).doesNotExist();
        assertThat(listening(cutTarget.port())).isFalse();

        // the newest segment deleted and a name of a later timeline put in its place: the listing seems to reach the
        // head, but replay asks for the timeline-1 segment, finds none and stops a segment short of it
        BackupLocation renamed = upload(src, Set.of(newest));
        WalArchive renamedWal = repositories.openOrInit(BUCKET, renamed.repositoryPrefix()).wal();
        renamedWal.put("000000FF" + newest.substring(8), new byte[renamedWal.segmentSize()]);
        recordHead(renamed.sourceId(), renamedWal.location(), cluster, WalNames.timeline(newest), end);
        ClusterTarget renamedTarget = new ClusterTarget(cutTarget.dataRoot(), "renamed-" + runId.substring(0, 8),
                freePort());
        RestoreCluster shortRestore = new RestoreCluster(RecoveryCommand.commandId(runId, 2, "restore-cluster"),
                runId, 2, renamed, renamedTarget, RecoveryTarget.latest(), Instant.now().plus(WAIT));
        send(EventType.RESTORE_CLUSTER, shortRestore);
        StepReply stoppedShort = awaitReply(shortRestore.commandId());

        assertThat(stoppedShort.outcome()).as(stoppedShort.message()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(stoppedShort.message()).contains("stopped short: replay ended at LSN ")
                .contains("recorded storing WAL up to LSN " + WalNames.formatLsn(end) + " in "
                        + renamedWal.location());
        assertThat(ClusterRestoreTestResource.DATA_ROOT.resolve(renamedTarget.name())).doesNotExist();
        assertThat(listening(renamedTarget.port())).isFalse();

        // an archive that holds what its archivers stored there is restored
        BackupLocation whole = upload(src, Set.of());
        WalArchive wholeWal = repositories.openOrInit(BUCKET, whole.repositoryPrefix()).wal();
        long within = WalNames.startLsn(newest, wholeWal.segmentSize()) + 4096;
        recordHead(whole.sourceId(), wholeWal.location(), cluster, WalNames.timeline(newest), within);
        ClusterTarget wholeTarget = new ClusterTarget(cutTarget.dataRoot(), "whole-" + runId.substring(0, 8),
                freePort());
        RestoreCluster restore = new RestoreCluster(RecoveryCommand.commandId(runId, 1, "restore-cluster"), runId, 1,
                whole, wholeTarget, RecoveryTarget.latest(), Instant.now().plus(WAIT));
        send(EventType.RESTORE_CLUSTER, restore);
        StepReply restored = awaitReply(restore.commandId());

        assertThat(restored.outcome()).as(restored.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat((String) restored.result().get("archiveHead"))
                .isEqualTo("reaches the WAL up to LSN " + WalNames.formatLsn(within) + " of timeline "
                        + WalNames.timeline(newest) + " its archivers recorded");
        String url = "jdbc:postgresql://127.0.0.1:" + wholeTarget.port() + "/postgres";
        try (Connection c = DriverManager.getConnection(url, PgCluster.SUPERUSER, PgCluster.SUPERUSER_PASSWORD);
             Statement st = c.createStatement()) {
            assertThat(queryInts(st, "select id from markers order by id")).containsAll(src.markersBeforeTarget());
        }
        RemoveCluster remove = new RemoveCluster(RecoveryCommand.commandId(runId, 1, "remove-cluster"), runId, 1,
                wholeTarget, Instant.now().plus(WAIT));
        send(EventType.REMOVE_CLUSTER, remove);
        assertThat(awaitReply(remove.commandId()).outcome()).isEqualTo(StepReply.Outcome.COMPLETED);
    }

    /** What an archiver of {@code sourceId} records in the worker's database as it stores WAL. */
    private void recordHead(String sourceId, String location, String cluster, int timeline, long lsn)
            throws Exception {
        LeaseStore.Lease lease = leases.acquire(sourceId, "test-archiver", Duration.ofMinutes(5)).orElseThrow();
        leases.recordArchiveHead(lease, new LeaseStore.ArchiveHead(location, cluster, timeline, lsn));
        assertThat(leases.archiveHead(sourceId)).contains(new LeaseStore.ArchiveHead(location, cluster, timeline, lsn));
    }

    /**
     * The restored cluster kept the source's plain settings but ran none of its commands, and neither it nor anything
     * it runs holds the worker's environment (the platform's secrets).
     */
    private static void assertSourceConfigurationNotObeyed(StepReply reply, String url, Path data) throws Exception {
        Path root = ClusterRestoreTestResource.ROOT;
        assertThat(root.resolve(RAN)).as("the source's recovery_end_command never ran").doesNotExist();
        assertThat(root.resolve(PID_FILE)).as("the source's external_pid_file never written").doesNotExist();
        try (Connection c = DriverManager.getConnection(url, PgCluster.SUPERUSER, PgCluster.SUPERUSER_PASSWORD);
             Statement st = c.createStatement()) {
            assertThat(queryString(st, "show work_mem")).isEqualTo("7MB");
            assertThat(queryString(st, "show recovery_end_command")).isEmpty();
            assertThat(queryString(st, "show external_pid_file")).isEmpty();
            assertThat(queryString(st, "show max_logical_replication_workers")).as("no subscription starts")
                    .isEqualTo("0");
        }
        @SuppressWarnings("unchecked")
        List<String> notKept = (List<String>) reply.result().get("settingsNotKept");
        assertThat(notKept).contains("recovery_end_command", "external_pid_file", "archive_command");
        assertThat(data.resolve("postgresql.auto.conf.from-backup")).as("kept aside for the DBA")
                .content().contains("recovery_end_command");

        long postmaster = Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid")).getFirst().strip());
        Set<String> postmasterEnv = new java.util.HashSet<>();
        for (String var : Files.readString(Path.of("/proc/" + postmaster + "/environ")).split("\0")) {
            if (var.contains("=")) {
                postmasterEnv.add(var.substring(0, var.indexOf('=')));
            }
        }
        Set<String> workerOnly = new java.util.HashSet<>(System.getenv().keySet());
        workerOnly.removeAll(Set.of("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME",
                "SHELL", "PWD", "SHLVL", "_", "PGDATA"));
        assertThat(workerOnly).as("the worker's own environment (the test's)").isNotEmpty();
        assertThat(postmasterEnv).as("the restored postmaster's environment").doesNotContainAnyElementsOf(workerOnly);
    }

    /**
     * The source, once per run: archiving on, a base backup, then markers 1..5 committed under a write load, and
     * between markers 3 and 4 a quiet moment in which the tables are fingerprinted and the target time is taken.
     */
    private static synchronized Source source() throws Exception {
        if (source != null) {
            return source;
        }
        Path root = ClusterRestoreTestResource.ROOT;
        Path archive = root.resolve("archive");
        Path base = root.resolve("base");
        Files.createDirectories(archive);
        chownToPostgres(archive);
        PgCluster cluster = PgCluster.at(root.resolve("source"), freePort()).start();
        cluster.execute("postgres", "ALTER SYSTEM SET archive_mode = on");
        cluster.execute("postgres", "ALTER SYSTEM SET archive_command = 'test ! -f " + archive + "/%f && cp %p "
                + archive + "/%f'");
        cluster.stop();
        cluster.start();
        // what a hostile superuser of the source leaves in the data directory for whoever restores its backups: a
        // command run when recovery ends, a file written at start; and a plain setting a restore keeps
        cluster.execute("postgres", "ALTER SYSTEM SET recovery_end_command = 'touch " + root.resolve(RAN) + "'");
        cluster.execute("postgres", "ALTER SYSTEM SET external_pid_file = '" + root.resolve(PID_FILE) + "'");
        cluster.execute("postgres", "ALTER SYSTEM SET work_mem = '7MB'");
        cluster.execute("postgres", "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, note text);"
                + "INSERT INTO accounts SELECT g, g * 10, md5(g::text) FROM generate_series(1, 20000) g;"
                + "CREATE TABLE events (id bigserial PRIMARY KEY, account int, amount bigint, at timestamptz);"
                + "CREATE TABLE markers (id int PRIMARY KEY, committed_at timestamptz NOT NULL);"
                + "CREATE TABLE guarded (id int); INSERT INTO guarded VALUES (1);"
                + "ALTER TABLE guarded ENABLE ROW LEVEL SECURITY;"
                // a policy of the source's: code that would run for whoever reads the table under it
                + "CREATE FUNCTION planted_policy() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN "
                + "EXECUTE pg_catalog.format('COPY (select 1) TO %L', '" + root.resolve(POLICY_RAN) + "'); "
                + "RETURN true; END $$;"
                + "CREATE POLICY planted ON guarded USING (planted_policy())");
        // and in its catalog, for whoever runs SQL as a superuser on a restored copy: event triggers that fire on
        // any DDL, even under session_replication_role = replica (a real one would COPY ... TO PROGRAM), and a
        // superuser role of the checker role's name, a member of pg_execute_server_program, with a setting
        cluster.execute("postgres", "CREATE FUNCTION planted_hook() RETURNS event_trigger LANGUAGE plpgsql AS $$ "
                + "BEGIN EXECUTE pg_catalog.format('COPY (select %L) TO %L', tg_tag, '" + root.resolve(TRIGGER_RAN)
                + "'); END $$;"
                + "CREATE EVENT TRIGGER planted_start ON ddl_command_start EXECUTE FUNCTION planted_hook();"
                + "ALTER EVENT TRIGGER planted_start ENABLE ALWAYS;"
                + "CREATE EVENT TRIGGER planted_end ON ddl_command_end EXECUTE FUNCTION planted_hook();"
                + "ALTER EVENT TRIGGER planted_end ENABLE ALWAYS;"
                + "CREATE ROLE lifeboat_checker SUPERUSER LOGIN PASSWORD 'known-to-the-source';"
                + "GRANT pg_execute_server_program TO lifeboat_checker;"
                + "ALTER ROLE lifeboat_checker SET search_path = nowhere;"
                + "ALTER ROLE lifeboat_checker IN DATABASE postgres SET row_security = on");
        // and a pg_hba.conf that lets anyone on its own host in over TCP without a password (initdb's default
        // without --auth-host), which the restored cluster, on the worker's host, must not do
        Path hba = cluster.dataDir().resolve("pg_hba.conf");
        Files.writeString(hba, "host all all 127.0.0.1/32 trust\n" + Files.readString(hba));
        cluster.execute("postgres", "SELECT pg_reload_conf()");
        PgCluster.run(List.of(PgCluster.binDir().resolve("pg_basebackup").toString(), "-D", base.toString(),
                "-Ft", "-X", "fetch", "-c", "fast", "-d", "host=127.0.0.1 port=" + cluster.port() + " user="
                        + PgCluster.REPLICATION_USER + " password=" + PgCluster.REPLICATION_PASSWORD), 120);

        AtomicBoolean loading = new AtomicBoolean(true);
        AtomicBoolean done = new AtomicBoolean(false);
        Thread load = Thread.ofPlatform().daemon().start(() -> writeLoad(cluster, loading, done));
        Instant targetTime = null;
        Map<String, TableFingerprint> atTarget = null;
        try (Connection c = cluster.connect("postgres"); Statement st = c.createStatement()) {
            for (int i = 1; i <= 5; i++) {
                st.execute("INSERT INTO markers VALUES (" + i + ", clock_timestamp())");
                Thread.sleep(150);
                if (i == 1 || i == 4) {
                    st.execute("SELECT pg_switch_wal()");
                }
                if (i == 3) {
                    loading.set(false);
                    Thread.sleep(300);
                    atTarget = TableFingerprint.of(cluster.jdbcUrl("postgres"), PgCluster.SUPERUSER,
                            PgCluster.SUPERUSER_PASSWORD);
                    targetTime = queryInstant(st, "select clock_timestamp()");
                    Thread.sleep(100);
                    loading.set(true);
                }
            }
            done.set(true);
            load.join(10_000);
            String last = queryString(st, "select pg_walfile_name(pg_switch_wal())");
            Instant until = Instant.now().plusSeconds(30);
            while (!Files.exists(archive.resolve(last)) && Instant.now().isBefore(until)) {
                Thread.sleep(100);
            }
            assertThat(archive.resolve(last)).as("archived by archive_command").exists();
        }
        source = new Source(cluster, base, archive, targetTime, atTarget, List.of(1, 2, 3));
        return source;
    }

    /** Updates and inserts in short transactions while {@code loading}, until {@code done}. */
    private static void writeLoad(PgCluster cluster, AtomicBoolean loading, AtomicBoolean done) {
        try (Connection c = cluster.connect("postgres"); Statement st = c.createStatement()) {
            while (!done.get()) {
                if (!loading.get()) {
                    Thread.sleep(10);
                    continue;
                }
                int account = ThreadLocalRandom.current().nextInt(1, 20001);
                st.execute("UPDATE accounts SET balance = balance + 1 WHERE id = " + account + ";"
                        + "INSERT INTO events (account, amount, at) VALUES (" + account + ", 1, clock_timestamp())");
            }
        } catch (SQLException e) {
            throw new IllegalStateException("write load on the source failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The base backup and the archived WAL (but {@code omitted}) in a repository of its own. */
    private BackupLocation upload(Source src, Set<String> omitted) throws IOException {
        return upload(src, omitted, true);
    }

    /** The base backup, and the archived WAL (but {@code omitted}) only when {@code withWal}. */
    private BackupLocation upload(Source src, Set<String> omitted, boolean withWal) throws IOException {
        String backupId = UUID.randomUUID().toString();
        String sourceId = "pitr-" + backupId.substring(0, 8);
        String prefix = "cluster-restore-test/" + sourceId;
        store.ensureBucket(BUCKET);
        Repository repository = repositories.openOrInit(BUCKET, prefix);
        WriteResult written = repository.writer().write(src.baseBackup(), BackupType.FULL,
                ChainContext.latestChain(backupId));
        Manifest m = written.manifest();
        assertThat(m.files()).extracting(Manifest.FileEntry::path).contains("base.tar");
        WalArchive wal = repository.wal();
        try (Stream<Path> files = Files.list(src.archive())) {
            for (Path f : withWal ? files.sorted().toList() : List.<Path>of()) {
                String name = f.getFileName().toString();
                if (WalNames.isArchivable(name) && !omitted.contains(name)) {
                    wal.put(name, Files.readAllBytes(f));
                }
            }
        }
        return new BackupLocation(backupId, sourceId, BUCKET, prefix, m.chainId(),
                repository.layout().manifest(m.chainId(), backupId), Instant.now(), m.totalSize(), m.totalSize(),
                null, written.manifestSha256());
    }

    /** {@code command} as recovery-coordinator sends it: recorded there as awaited, then on the commands topic. */
    private static void send(EventType type, RecoveryCommand command) {
        RecoveryCommandsTest.issue(type, command);
        try {
            producer.send(new ProducerRecord<>(Topics.RECOVERY_COMMANDS, null, command.runId(),
                    EventCodec.encodeData(command), EventCodec.headers(type, "/test/recovery-coordinator",
                    command.runId()))).get();
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

    private static List<Integer> queryInts(Statement st, String sql) throws SQLException {
        List<Integer> out = new ArrayList<>();
        try (ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getInt(1));
            }
        }
        return out;
    }

    private static String queryString(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static Instant queryInstant(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getTimestamp(1).toInstant();
        }
    }

    private static int freePort() {
        return dev.lifeboat.testsupport.ServiceProcess.freePort();
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void chownToPostgres(Path path) throws Exception {
        if ("root".equals(System.getProperty("user.name"))) {
            new ProcessBuilder("chown", "-R", "postgres:postgres", path.toString()).start().waitFor();
        }
    }

    /** A failed assertion may leave a restored cluster running: its postmaster goes with the test. */
    static void stopClustersUnder(Path root) {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path dir : dirs.toList()) {
                Path pid = dir.resolve("postmaster.pid");
                if (Files.isRegularFile(pid, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    ProcessHandle.of(Long.parseLong(Files.readAllLines(pid).getFirst().trim()))
                            .ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        } catch (IOException | RuntimeException e) {
            // best effort: the directory is removed next
        }
    }

    static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
