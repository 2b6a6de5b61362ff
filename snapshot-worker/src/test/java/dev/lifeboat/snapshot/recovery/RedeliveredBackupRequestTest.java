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
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.WriteResult;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.contracts.BackupProgress;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.snapshot.messaging.BackupEventPublisher;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.arc.ClientProxy;
import io.quarkus.test.junit.QuarkusMock;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A redelivered BackupRequested ends in exactly one outcome: one that finds the manifest an earlier attempt wrote
 * (that attempt died before SnapshotCreated) announces that manifest, in its one chain; one that finds another worker
 * holding the backup waits for it and runs the backup when that worker dies, or acknowledges it when that worker
 * finished it. The crash states are staged exactly (manifest in the bucket, ledger row RUNNING, lock held by another
 * session) on the real Kafka, PostgreSQL and S3Proxy; scheduler-service's lookups are answered by the test.
 */
@QuarkusTest
@QuarkusTestResource(value = RedeliveredBackupRequestTest.Resource.class, restrictToAnnotatedClass = true)
class RedeliveredBackupRequestTest {
    static final Duration WAIT = Duration.ofSeconds(90);
    static final String BUCKET = "lifeboat-snapshot-redelivery-test";
    static final String PREFIX = "redelivery-" + UUID.randomUUID();
    static final String POLICY = "redelivery-policy";
    static final String SOURCE_DB = "redelivery_src_" + UUID.randomUUID().toString().substring(0, 8);
    static final Map<String, String> SCHEDULER = new ConcurrentHashMap<>();
    static HttpServer scheduler;
    /** The manifests the staged crashes wrote, as the worker records them before storing one. */
    static final Map<String, String[]> WRITTEN = new ConcurrentHashMap<>();
    static KafkaProducer<String, String> publisher;

    @Inject
    Repositories repositories;
    @Inject
    ObjectStore store;
    @Inject
    MeterRegistry registry;
    @Inject
    BackupEventPublisher backupEvents;
    TopicTail events;

    public static class Resource extends RecoveryCommandsTestResource {
        @Override
        public Map<String, String> start() {
            Map<String, String> config = new HashMap<>(super.start());
            config.put("quarkus.rest-client.scheduler.url", schedulerUrl());
            return config;
        }
    }

    static synchronized String schedulerUrl() {
        if (scheduler == null) {
            try {
                scheduler = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            scheduler.createContext("/api/v1/", RedeliveredBackupRequestTest::answer);
            scheduler.start();
        }
        return "http://127.0.0.1:" + scheduler.getAddress().getPort();
    }

    /** A source on the stack's PostgreSQL and its policy writing to this test's bucket and prefix. */
    static String source() {
        String id = "src-" + UUID.randomUUID().toString().substring(0, 8);
        SCHEDULER.put("sources/" + id, """
                {"id":"%s","kind":"postgresql","host":"127.0.0.1","port":%d,"database":"%s","username":"postgres",
                 "passwordRef":"file:%s"}""".formatted(id, LocalStack.ensureStarted().pgPort(), SOURCE_DB,
                RecoveryCommandsTestResource.TARGET_PASSWORD_FILE));
        SCHEDULER.put("policies/" + POLICY + "-" + id, """
                {"id":"%s","sourceId":"%s","destination":{"bucket":"%s","prefix":"%s"},"offsite":null}"""
                .formatted(POLICY + "-" + id, id, BUCKET, PREFIX));
        return id;
    }

    private static void answer(HttpExchange exchange) throws IOException {
        String body = SCHEDULER.get(exchange.getRequestURI().getPath().substring("/api/v1/".length()));
        SchedulerAnswer.send(exchange, body);
    }

    @BeforeAll
    static void setUp() {
        publisher = new KafkaProducer<>(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_PUBLISHER),
                new StringSerializer(), new StringSerializer());
        Databases.createDatabase(SOURCE_DB);
        Databases.loadSample(SOURCE_DB, 1);
    }

    @AfterAll
    static void tearDown() {
        publisher.close();
        if (scheduler != null) {
            scheduler.stop(0);
        }
        Databases.dropDatabase(SOURCE_DB);
    }

    @BeforeEach
    void tail() {
        store.ensureBucket(BUCKET);
        events = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN),
                Topics.BACKUP_EVENTS);
    }

    @AfterEach
    void closeTail() {
        events.close();
    }

    @Test
    void redeliveredFullWhoseManifestWasWrittenIsAnnouncedFromItAndStartsNoSecondChain() throws Exception {
        String source = source();
        Repository repository = repositories.openOrInit(BUCKET, PREFIX + "/" + source);
        String backupId = UUID.randomUUID().toString();
        // the crash: the manifest is written, SnapshotCreated was never sent, the ledger still says RUNNING
        Manifest written = writeDirectly(repository, backupId, dev.lifeboat.repository.snapshot.BackupType.FULL);
        ledgerRow(backupId, source);

        request(new BackupRequested(backupId, source, BackupType.FULL, POLICY + "-" + source, "test"));

        SnapshotCreated created = snapshotOf(backupId);
        assertThat(created.objectKey()).isEqualTo(repository.layout().manifest(written.chainId(), backupId));
        assertThat(created.type()).isEqualTo(BackupType.FULL);
        assertThat(created.repository().chainId()).isEqualTo(written.chainId());
        assertThat(repository.chains()).containsExactly(written.chainId());
        assertThat(repository.manifests(written.chainId())).extracting(Manifest::backupId).containsExactly(backupId);
        assertThat(events.seen(ofType(EventType.BACKUP_FAILED, backupId))).isEmpty();
    }

    @Test
    void aManifestPlantedUnderARequestedBackupIdIsNotAnnouncedAndTheBackupIsTakenAgain() throws Exception {
        String source = source();
        Repository repository = repositories.openOrInit(BUCKET, PREFIX + "/" + source);
        String olderId = UUID.randomUUID().toString();
        Manifest older = writeDirectly(repository, olderId, dev.lifeboat.repository.snapshot.BackupType.FULL);
        WRITTEN.remove(olderId);
        // someone who can write to the bucket and knows the id a publisher will request: the older manifest, its
        // backup id edited, where a manifest of that backup would be, its chunks all present
        String backupId = UUID.randomUUID().toString();
        String planted = repository.layout().manifest(older.chainId(), backupId);
        byte[] plantedBytes = new String(readAll(repository.layout().manifest(older.chainId(), olderId)),
                java.nio.charset.StandardCharsets.UTF_8).replace(olderId, backupId)
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        store.put(BUCKET, planted, plantedBytes);
        double notAnnounced = notAnnounced();

        request(new BackupRequested(backupId, source, BackupType.FULL, POLICY + "-" + source, "test"));

        SnapshotCreated created = snapshotOf(backupId);
        assertThat(created.objectKey()).as("taken again, in a chain of its own").isNotEqualTo(planted);
        assertThat(created.repository().chainId()).isNotEqualTo(older.chainId());
        assertThat(created.sha256()).isNotEqualTo(dev.lifeboat.repository.blob.Sha256.of(plantedBytes))
                .isEqualTo(dev.lifeboat.repository.blob.Sha256.of(readAll(created.objectKey())));
        assertThat(repository.manifest(created.repository().chainId(), backupId)).get()
                .extracting(Manifest::backupId).isEqualTo(backupId);
        assertThat(notAnnounced()).isEqualTo(notAnnounced + 1);
        assertThat(events.seen(ofType(EventType.SNAPSHOT_CREATED, backupId))).hasSize(1);
    }

    @Test
    void aManifestReplacedWhereThisWorkerRecordedItsOwnIsNotAnnounced() throws Exception {
        String source = source();
        Repository repository = repositories.openOrInit(BUCKET, PREFIX + "/" + source);
        String olderId = UUID.randomUUID().toString();
        Manifest older = writeDirectly(repository, olderId, dev.lifeboat.repository.snapshot.BackupType.FULL);
        String backupId = UUID.randomUUID().toString();
        Manifest written = writeDirectly(repository, backupId, dev.lifeboat.repository.snapshot.BackupType.FULL);
        ledgerRow(backupId, source);
        // the crash left the manifest unannounced; before the redelivery it is replaced by the older one, edited
        String key = repository.layout().manifest(written.chainId(), backupId);
        byte[] plantedBytes = new String(readAll(repository.layout().manifest(older.chainId(), olderId)),
                java.nio.charset.StandardCharsets.UTF_8).replace(olderId, backupId).replace(older.chainId(),
                written.chainId()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        store.put(BUCKET, key, plantedBytes);

        request(new BackupRequested(backupId, source, BackupType.FULL, POLICY + "-" + source, "test"));

        SnapshotCreated created = snapshotOf(backupId);
        assertThat(created.sha256()).isNotEqualTo(dev.lifeboat.repository.blob.Sha256.of(plantedBytes))
                .isEqualTo(dev.lifeboat.repository.blob.Sha256.of(readAll(created.objectKey())));
        assertThat(created.repository().chainId()).isNotIn(older.chainId(), written.chainId());
    }

    private byte[] readAll(String key) throws IOException {
        try (var in = store.open(BUCKET, key)) {
            return in.readAllBytes();
        }
    }

    private double notAnnounced() {
        var counter = registry.find("lifeboat_backup_manifests_not_announced_total").counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void aRequestWhoseAnnouncementKafkaRefusesIsParkedWithTheReasonNotDeadLetteredAndItsReplayIsAnnounced()
            throws Exception {
        String source = source();
        Repository repository = repositories.openOrInit(BUCKET, PREFIX + "/" + source);
        String backupId = UUID.randomUUID().toString();
        Manifest written = writeDirectly(repository, backupId, dev.lifeboat.repository.snapshot.BackupType.FULL);
        ledgerRow(backupId, source);
        BackupEventPublisher real = ClientProxy.unwrap(backupEvents);
        AtomicBoolean refused = new AtomicBoolean();
        // the lifecycle topic refuses this service once, as a missing ACL would
        QuarkusMock.installMockForType(new BackupEventPublisher() {
            @Override
            public void snapshotCreated(SnapshotCreated e) {
                if (e.backupId().equals(backupId) && refused.compareAndSet(false, true)) {
                    throw new TopicAuthorizationException(Set.of(Topics.BACKUP_EVENTS));
                }
                real.snapshotCreated(e);
            }

            @Override
            public void backupFailed(BackupFailed e) {
                real.backupFailed(e);
            }

            @Override
            public void progress(BackupProgress e) {
                real.progress(e);
            }
        }, BackupEventPublisher.class);
        try (TopicTail parked = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN),
                Topics.PARKED); TopicTail dead = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(
                LocalStack.KAFKA_ADMIN), Topics.DLQ)) {
            request(new BackupRequested(backupId, source, BackupType.FULL, POLICY + "-" + source, "test"));

            ConsumerRecord<String, String> record = parked.await(about(backupId), WAIT);
            assertThat(EventCodec.header(record.headers(), Parking.REASON)).contains("backup " + backupId)
                    .contains("Not authorized to access topics: [" + Topics.BACKUP_EVENTS + "]");
            assertThat(EventCodec.header(record.headers(), Parking.ORIGIN_TOPIC)).isEqualTo(Topics.BACKUP_REQUESTED);

            // replayed once the ACL is fixed: the manifest is announced, nothing backed up again
            publisher.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, record.key(), record.value(),
                    Parking.withoutParkingHeaders(record.headers())))
                    .get();
            SnapshotCreated created = snapshotOf(backupId);
            assertThat(created.objectKey()).isEqualTo(repository.layout().manifest(written.chainId(), backupId));
            assertThat(repository.chains()).containsExactly(written.chainId());
            assertThat(dead.seen(about(backupId))).isEmpty();
        }
    }

    @Test
    void redeliveredIncrementalWhoseManifestWasWrittenIsAnnouncedFromItInsteadOfFailing() throws Exception {
        String source = source();
        Repository repository = repositories.openOrInit(BUCKET, PREFIX + "/" + source);
        String fullId = UUID.randomUUID().toString();
        Manifest full = writeDirectly(repository, fullId, dev.lifeboat.repository.snapshot.BackupType.FULL);
        String backupId = UUID.randomUUID().toString();
        Manifest written = writeDirectly(repository, backupId, dev.lifeboat.repository.snapshot.BackupType.INCREMENTAL);
        ledgerRow(backupId, source);

        request(new BackupRequested(backupId, source, BackupType.INCREMENTAL, POLICY + "-" + source, "test"));

        SnapshotCreated created = snapshotOf(backupId);
        assertThat(created.objectKey()).isEqualTo(repository.layout().manifest(full.chainId(), backupId));
        assertThat(created.type()).isEqualTo(BackupType.INCREMENTAL);
        assertThat(created.repository().parentBackupId()).isEqualTo(fullId);
        assertThat(created.sha256()).isNotBlank();
        assertThat(written.chainId()).isEqualTo(full.chainId());
        assertThat(repository.chains()).containsExactly(full.chainId());
        assertThat(repository.manifests(full.chainId())).extracting(Manifest::backupId)
                .containsExactly(fullId, backupId);
        assertThat(events.seen(ofType(EventType.BACKUP_FAILED, backupId))).isEmpty();
    }

    @Test
    void aDeliveryThatFindsTheBackupHeldWaitsAndRunsItWhenTheHolderDiesOrAcknowledgesItWhenTheHolderFinished()
            throws Exception {
        String source = source();
        String policy = POLICY + "-" + source;

        String orphaned = UUID.randomUUID().toString();
        try (Connection holder = holdClaim(orphaned, source)) {
            request(new BackupRequested(orphaned, source, BackupType.FULL, policy, "test"));
            assertThat(events.readFor(Duration.ofSeconds(4)).filter(about(orphaned)))
                    .as("nothing happens to the backup while its holder lives").isEmpty();
        } // the holder dies: its session, and with it the lock, ends
        SnapshotCreated created = snapshotOf(orphaned);
        assertThat(created.workerId()).isNotEqualTo("worker-that-dies");
        Repository repository = repositories.open(BUCKET, PREFIX + "/" + source).orElseThrow();
        assertThat(repository.manifests(created.repository().chainId())).extracting(Manifest::backupId)
                .containsExactly(orphaned);

        String finished = UUID.randomUUID().toString();
        String marker = UUID.randomUUID().toString();
        try (Connection holder = holdClaim(finished, source)) {
            request(new BackupRequested(finished, source, BackupType.FULL, policy, "test"));
            // on the same key, so handled after the held delivery: its outcome shows that one was let go
            request(new BackupRequested(marker, source, BackupType.FULL, "no-such-policy", "test"));
            events.readFor(Duration.ofSeconds(2));
            try (PreparedStatement ps = holder.prepareStatement(
                    "update snapshot.job set status = 'SNAPSHOT_CREATED', finished_at = now() where backup_id = ?::uuid")) {
                ps.setString(1, finished);
                ps.executeUpdate();
            }
        }
        events.await(ofType(EventType.BACKUP_FAILED, marker), WAIT);
        assertThat(events.seen(about(finished))).as("the finished backup is not run again").isEmpty();
    }

    @Test
    void aDeliveryOfAFinishedBackupAnnouncesItsManifestAgainAndBacksUpNothing() throws Exception {
        String source = source();
        Repository repository = repositories.openOrInit(BUCKET, PREFIX + "/" + source);
        String backupId = UUID.randomUUID().toString();
        // finished and announced once; no verdict came (storage-worker's sealing was parked), so the scheduler's
        // watchdog asks for the backup again
        Manifest written = writeDirectly(repository, backupId, dev.lifeboat.repository.snapshot.BackupType.FULL);
        finishedRow(backupId, source, POLICY + "-" + source);
        double announcedRecently = refused("ANNOUNCED_RECENTLY");

        // first as another policy of the same source would ask: refused, else the backup would be sealed and kept
        // under that policy; then as the watchdog asks, with the request's own policy
        String otherPolicy = POLICY + "-other-" + source;
        SCHEDULER.put("policies/" + otherPolicy, """
                {"id":"%s","sourceId":"%s","destination":{"bucket":"%s","prefix":"%s"},"offsite":null}"""
                .formatted(otherPolicy, source, BUCKET, PREFIX));
        request(new BackupRequested(backupId, source, BackupType.FULL, otherPolicy, "another system"));
        request(new BackupRequested(backupId, source, BackupType.FULL, POLICY + "-" + source, "watchdog"));
        // and the same again at once, as a client repeating it would: within the re-announce interval, not announced
        request(new BackupRequested(backupId, source, BackupType.FULL, POLICY + "-" + source, "a repeating client"));

        SnapshotCreated created = snapshotOf(backupId);
        await().atMost(WAIT).until(() -> refused("ANNOUNCED_RECENTLY") == announcedRecently + 1);
        assertThat(created.objectKey()).isEqualTo(repository.layout().manifest(written.chainId(), backupId));
        assertThat(created.sha256()).isNotBlank();
        assertThat(created.policyId()).isEqualTo(POLICY + "-" + source);
        assertThat(events.readFor(Duration.ofSeconds(2)).filter(ofType(EventType.SNAPSHOT_CREATED, backupId)))
                .as("announced once, for the first request naming its own policy").hasSize(1);
        assertThat(repository.chains()).as("nothing backed up again").containsExactly(written.chainId());
        try (Connection c = ledger(); PreparedStatement ps = c.prepareStatement(
                "select status, worker_id, attempts from snapshot.job where backup_id = ?::uuid")) {
            ps.setString(1, backupId);
            try (var rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("SNAPSHOT_CREATED");
                assertThat(rs.getString(2)).isEqualTo("worker-that-finished");
                assertThat(rs.getInt(3)).isEqualTo(1);
            }
        }
    }

    @Test
    void aDeliveryOfABackupThatFailedAnnouncesTheRecordedFailureAgainInsteadOfRedoingIt() throws Exception {
        String source = source();
        String backupId = UUID.randomUUID().toString();
        // the crash: the failure is recorded, BackupFailed never left (the broker was away, or the worker died)
        try (Connection c = ledger(); PreparedStatement ps = c.prepareStatement("""
                insert into snapshot.job (backup_id, status, worker_id, attempts, started_at, finished_at, source_id,
                                          failure_stage, failure_reason)
                values (?::uuid, 'FAILED', 'worker-that-died', 1, now(), now(), ?, 'DUMP', 'pg_dump exited with 1')""")) {
            ps.setString(1, backupId);
            ps.setString(2, source);
            ps.executeUpdate();
        }

        request(new BackupRequested(backupId, source, BackupType.FULL, POLICY + "-" + source, "test"));

        ConsumerRecord<String, String> outcome = events.await(r -> ofType(EventType.SNAPSHOT_CREATED, backupId).test(r)
                || ofType(EventType.BACKUP_FAILED, backupId).test(r), WAIT);
        Object data = EventCodec.decode(outcome.headers(), outcome.value()).data();
        assertThat(data).as("outcome of backup %s", backupId).isInstanceOf(BackupFailed.class);
        assertThat(((BackupFailed) data).stage()).isEqualTo("DUMP");
        assertThat(((BackupFailed) data).reason()).isEqualTo("pg_dump exited with 1");
        assertThat(repositories.open(BUCKET, PREFIX + "/" + source)).as("nothing backed up").isEmpty();
    }

    private double refused(String reason) {
        var counter = registry.find("lifeboat_backup_requests_refused_total").tag("reason", reason).counter();
        return counter == null ? 0 : counter.count();
    }

    private Manifest writeDirectly(Repository repository, String backupId,
                                   dev.lifeboat.repository.snapshot.BackupType type) throws IOException {
        Path dir = Files.createTempDirectory("redelivery-");
        Files.writeString(dir.resolve("toc.dat"), "table data of " + backupId);
        WriteResult result = repository.writer().write(dir, type, ChainContext.latestChain(backupId));
        WRITTEN.put(backupId, new String[] {repository.layout().manifest(result.manifest().chainId(), backupId),
                result.manifest().chainId(), result.manifestSha256()});
        return result.manifest();
    }

    private static Connection ledger() throws Exception {
        return DriverManager.getConnection(LocalStack.ensureStarted().jdbcUrl(RecoveryCommandsTestResource.DATABASE),
                "lifeboat", "lifeboat");
    }

    /** A backup a worker finished, taken for {@code policy} as a FULL. */
    private static void finishedRow(String backupId, String source, String policy) throws Exception {
        try (Connection c = ledger(); PreparedStatement ps = c.prepareStatement("""
                insert into snapshot.job (backup_id, status, worker_id, attempts, started_at, finished_at, source_id,
                                          policy_id, requested_type)
                values (?::uuid, 'SNAPSHOT_CREATED', 'worker-that-finished', 1, now(), now(), ?, ?, 'FULL')""")) {
            ps.setString(1, backupId);
            ps.setString(2, source);
            ps.setString(3, policy);
            ps.executeUpdate();
        }
        recordManifest(backupId);
    }

    private static void ledgerRow(String backupId, String source) throws Exception {
        try (Connection c = ledger(); PreparedStatement ps = c.prepareStatement("""
                insert into snapshot.job (backup_id, status, worker_id, attempts, started_at, source_id)
                values (?::uuid, 'RUNNING', 'worker-that-died', 1, now(), ?)""")) {
            ps.setString(1, backupId);
            ps.setString(2, source);
            ps.executeUpdate();
        }
        recordManifest(backupId);
    }

    /** The manifest {@link #writeDirectly} wrote, in the ledger as the worker records it before storing it. */
    private static void recordManifest(String backupId) throws Exception {
        String[] written = WRITTEN.get(backupId);
        if (written == null) {
            return;
        }
        try (Connection c = ledger(); PreparedStatement ps = c.prepareStatement("update snapshot.job set "
                + "manifest_key = ?, manifest_chain_id = ?, manifest_sha256 = ? where backup_id = ?::uuid")) {
            ps.setString(1, written[0]);
            ps.setString(2, written[1]);
            ps.setString(3, written[2]);
            ps.setString(4, backupId);
            ps.executeUpdate();
        }
    }

    /** What a live worker running the backup holds: the ledger row and the lock, in its own session. */
    private static Connection holdClaim(String backupId, String source) throws Exception {
        Connection c = ledger();
        try (PreparedStatement lock = c.prepareStatement("select pg_advisory_lock(hashtextextended(?, 0))");
             PreparedStatement row = c.prepareStatement("""
                     insert into snapshot.job (backup_id, status, worker_id, attempts, started_at, source_id)
                     values (?::uuid, 'RUNNING', 'worker-that-dies', 1, now(), ?)""")) {
            lock.setString(1, backupId);
            lock.execute();
            row.setString(1, backupId);
            row.setString(2, source);
            row.executeUpdate();
        }
        return c;
    }

    private SnapshotCreated snapshotOf(String backupId) {
        ConsumerRecord<String, String> record = events.await(r -> ofType(EventType.SNAPSHOT_CREATED, backupId).test(r)
                || ofType(EventType.BACKUP_FAILED, backupId).test(r), WAIT);
        Object data = EventCodec.decode(record.headers(), record.value()).data();
        assertThat(data).as("outcome of backup %s", backupId).isInstanceOf(SnapshotCreated.class);
        return (SnapshotCreated) data;
    }

    private static Predicate<ConsumerRecord<String, String>> about(String backupId) {
        return r -> r.value() != null && r.value().contains("\"backupId\":\"" + backupId + "\"");
    }

    private static Predicate<ConsumerRecord<String, String>> ofType(EventType type, String backupId) {
        return r -> type.ceType().equals(EventCodec.header(r.headers(), EventCodec.H_TYPE))
                && about(backupId).test(r);
    }

    private static void request(BackupRequested request) {
        try {
            publisher.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, request.sourceId(),
                    EventCodec.encodeData(request), EventCodec.headers(EventType.BACKUP_REQUESTED, "/test/publisher",
                    request.sourceId()))).get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot publish BackupRequested " + request.backupId(), e);
        }
    }
}
