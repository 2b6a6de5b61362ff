package dev.lifeboat.snapshot.recovery;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.snapshot.service.ChildProcesses;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One worker, two sources whose requests share a partition. A session holds an ACCESS EXCLUSIVE lock on a table of
 * source A for longer than A's policy allows a backup to run; meanwhile source B is backed up to the end, and A's
 * backup ends FAILED at its deadline naming the table and the process holding the lock. At start the worker swept the
 * run directory a killed worker left in the spool and killed the process group it had left running. Real Kafka,
 * PostgreSQL and S3Proxy; scheduler-service's answers come from a small HTTP server of the test's own.
 */
@QuarkusTest
@QuarkusTestResource(value = LockedSourceTest.Resource.class, restrictToAnnotatedClass = true)
class LockedSourceTest {
    static final Duration WAIT = Duration.ofSeconds(90);
    static final String SOURCE_A = "locked-a-" + UUID.randomUUID().toString().substring(0, 8);
    static final String SOURCE_B = sameLaneOtherSource(SOURCE_A);
    static final String DB_A = "locked_source_a";
    static final String DB_B = "locked_source_b";
    static final String BUCKET = "lifeboat-snapshot-locked-test";
    static final Duration A_MAX = Duration.ofSeconds(8);
    static final Path SPOOL = Path.of(System.getProperty("java.io.tmpdir"), "lifeboat-locked-test-spool-"
            + UUID.randomUUID());
    static final Map<String, String> SCHEDULER = new ConcurrentHashMap<>();
    static HttpServer scheduler;
    /** The process group a killed worker left running, and its run directory. */
    static Process orphan;
    static long orphanMember;
    static Path deadRun;

    @Inject
    ObjectStore store;

    public static class Resource extends RecoveryCommandsTestResource {
        @Override
        public Map<String, String> start() {
            Map<String, String> config = new HashMap<>(super.start());
            for (String db : List.of(DB_A, DB_B)) {
                Databases.createDatabase(db);
                Databases.execute(db, "create table public.accounts (id int primary key, balance int); "
                        + "insert into public.accounts select g, g * 10 from generate_series(1, 1000) g");
            }
            config.put("quarkus.rest-client.scheduler.url", schedulerUrl());
            config.put("lifeboat.snapshot.spool-dir", SPOOL.toString());
            config.put("lifeboat.snapshot.concurrent-backups", "2");
            config.put("lifeboat.snapshot.jobs", "1");
            leaveOrphan();
            return config;
        }
    }

    /** What a worker killed by kill -9 leaves: its run directory, and a child group recorded there, still running. */
    static void leaveOrphan() {
        try {
            deadRun = Files.createDirectories(SPOOL.resolve("run-killed-" + UUID.randomUUID()));
            Files.createDirectories(deadRun.resolve("backup-of-the-killed-run/dump"));
            Files.writeString(deadRun.resolve("backup-of-the-killed-run/dump/toc.dat"), "partial");
            // a leader and a member it forked, as pg_dump and its parallel jobs
            var child = new ChildProcesses(deadRun.resolve("children"))
                    .start(new ProcessBuilder("sh", "-c", "sleep 600 & exec sleep 600"));
            orphan = child.process();
            Instant until = Instant.now().plusSeconds(10);
            while (orphan.descendants().findAny().isEmpty() && Instant.now().isBefore(until)) {
                Thread.sleep(20);
            }
            orphanMember = orphan.descendants().findFirst().orElseThrow().pid();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A source id whose requests land on the same partition as {@code source}'s, hence on the same consumer. */
    static String sameLaneOtherSource(String source) {
        int partitions = 4; // deploy/local/stack.sh num.partitions: the test checks it below
        int target = Utils.toPositive(Utils.murmur2(source.getBytes(StandardCharsets.UTF_8))) % partitions;
        for (int i = 0; ; i++) {
            // unique per run, as A is: a repository an earlier run left in the bucket has another master key
            String candidate = "locked-b-" + source.substring("locked-a-".length()) + "-" + i;
            if (Utils.toPositive(Utils.murmur2(candidate.getBytes(StandardCharsets.UTF_8))) % partitions == target) {
                return candidate;
            }
        }
    }

    static synchronized String schedulerUrl() {
        if (scheduler == null) {
            LocalStack stack = LocalStack.ensureStarted();
            String source = """
                    {"id":"%s","kind":"postgresql","host":"127.0.0.1","port":%d,"database":"%s","username":"postgres",
                     "passwordRef":"file:%s","sslmode":"require"}""";
            SCHEDULER.put("sources/" + SOURCE_A, source.formatted(SOURCE_A, stack.pgPort(), DB_A,
                    RecoveryCommandsTestResource.TARGET_PASSWORD_FILE));
            SCHEDULER.put("sources/" + SOURCE_B, source.formatted(SOURCE_B, stack.pgPort(), DB_B,
                    RecoveryCommandsTestResource.TARGET_PASSWORD_FILE));
            String policy = """
                    {"id":"%s","sourceId":"%s","destination":{"bucket":"%s","prefix":"locked"},"offsite":null,
                     "maxDuration":"%s"}""";
            SCHEDULER.put("policies/pol-a", policy.formatted("pol-a", SOURCE_A, BUCKET, A_MAX));
            SCHEDULER.put("policies/pol-b", policy.formatted("pol-b", SOURCE_B, BUCKET, "PT5M"));
            try {
                scheduler = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            scheduler.createContext("/api/v1/", LockedSourceTest::answer);
            scheduler.start();
        }
        return "http://127.0.0.1:" + scheduler.getAddress().getPort();
    }

    private static void answer(HttpExchange exchange) throws IOException {
        String body = SCHEDULER.get(exchange.getRequestURI().getPath().substring("/api/v1/".length()));
        SchedulerAnswer.send(exchange, body);
    }

    @AfterAll
    static void close() {
        if (scheduler != null) {
            scheduler.stop(0);
        }
        if (orphan != null) {
            orphan.descendants().forEach(ProcessHandle::destroyForcibly);
            orphan.destroyForcibly();
        }
        Databases.dropDatabase(DB_A);
        Databases.dropDatabase(DB_B);
    }

    @Test
    void lockedSourceFailsAtItsDeadlineNamingTheLockWhileAnotherSourceIsBackedUp() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        store.ensureBucket(BUCKET);
        try (TopicTail events = new TopicTail(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.BACKUP_EVENTS);
             KafkaProducer<String, String> publisher = new KafkaProducer<>(
                     stack.kafkaClientConfig(LocalStack.KAFKA_PUBLISHER), new StringSerializer(),
                     new StringSerializer());
             Connection holder = Databases.connect(DB_A)) {
            assertThat(publisher.partitionsFor(Topics.BACKUP_REQUESTED)).hasSize(4);
            int holderPid;
            try (Statement st = holder.createStatement()) {
                st.execute("set application_name = 'long-maintenance'");
                holder.setAutoCommit(false);
                st.execute("lock table public.accounts in access exclusive mode");
                try (ResultSet rs = st.executeQuery("select pg_backend_pid()")) {
                    rs.next();
                    holderPid = rs.getInt(1);
                }
            }
            String a = UUID.randomUUID().toString();
            String b = UUID.randomUUID().toString();
            Instant requested = Instant.now();
            request(publisher, new BackupRequested(a, SOURCE_A, BackupType.FULL, "pol-a", "test"));
            request(publisher, new BackupRequested(b, SOURCE_B, BackupType.FULL, "pol-b", "test"));

            ConsumerRecord<String, String> createdB = events.await(ofType(EventType.SNAPSHOT_CREATED, b), WAIT);
            ConsumerRecord<String, String> failedA = events.await(ofType(EventType.BACKUP_FAILED, a), WAIT);

            SnapshotCreated created = (SnapshotCreated) EventCodec.decode(createdB.headers(), createdB.value()).data();
            assertThat(created.sourceId()).isEqualTo(SOURCE_B);
            assertThat(createdB.timestamp()).as("B completed while A's source was locked")
                    .isLessThan(failedA.timestamp());
            BackupFailed failed = (BackupFailed) EventCodec.decode(failedA.headers(), failedA.value()).data();
            assertThat(failed.stage()).isEqualTo("DUMP");
            assertThat(failed.reason()).contains("maximum backup duration " + A_MAX + " (maxDuration of policy 'pol-a')")
                    .contains("table public.accounts is locked by process " + holderPid)
                    .contains("application long-maintenance");
            assertThat(Duration.between(requested, Instant.ofEpochMilli(failedA.timestamp())))
                    .as("A failed at its deadline, not when the lock was released")
                    .isLessThan(A_MAX.plusSeconds(10));
            assertThat(store.list(BUCKET, "locked/" + SOURCE_A + "/")).as("nothing of A's backup written")
                    .noneMatch(k -> k.contains("manifest"));
            holder.rollback();
        }

        // the killed run's spool and its child group were gone once the worker had started
        assertThat(deadRun).doesNotExist();
        assertThat(running(orphan.pid())).as("leader of the orphaned group").isFalse();
        assertThat(running(orphanMember)).as("member of the orphaned group").isFalse();
    }

    /** Alive and not a zombie (a killed process not reaped yet by its parent). */
    private static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException e) {
            return false;
        }
    }

    private static Predicate<ConsumerRecord<String, String>> ofType(EventType type, String backupId) {
        return r -> type.ceType().equals(EventCodec.header(r.headers(), EventCodec.H_TYPE))
                && r.value() != null && r.value().contains("\"backupId\":\"" + backupId + "\"");
    }

    private static void request(KafkaProducer<String, String> publisher, BackupRequested request) throws Exception {
        publisher.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, request.sourceId(),
                EventCodec.encodeData(request), EventCodec.headers(EventType.BACKUP_REQUESTED, "/test/publisher",
                        request.sourceId()))).get();
    }
}
