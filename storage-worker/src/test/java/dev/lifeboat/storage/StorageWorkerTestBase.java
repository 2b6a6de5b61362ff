package dev.lifeboat.storage;

import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.RepositoryStats;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.WriteResult;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.Sha256;
import dev.lifeboat.testsupport.LocalStack;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.function.Predicate;

/** Shared fixtures of the storage-worker component tests: real Kafka, PostgreSQL and S3Proxy. */
abstract class StorageWorkerTestBase {
    static final String BUCKET = "lifeboat-storage-test";
    static final String SOURCE = "storage-test-src";
    /**
     * The master key is fresh per run, so each run writes its own repositories (the bucket outlives runs); the worker
     * under test has it as its default prefix, as snapshot-worker has its own.
     */
    static final String REPOSITORY_ROOT = StorageWorkerTestResource.repositoryRoot();
    /** The repository of {@link #SOURCE}: one per source, {@code <prefix>/<sourceId>}, as the snapshot-worker writes. */
    static final String REPOSITORY_PREFIX = REPOSITORY_ROOT + "/" + SOURCE;
    static final Duration WAIT = Duration.ofSeconds(60);
    static KafkaProducer<String, String> producer;

    @Inject
    ObjectStore store;
    @Inject
    Repositories repositories;

    TopicTail events;
    TopicTail deadLetters;

    @BeforeAll
    static void producer() {
        producer = producerAs("snapshot-worker");
    }

    /** A producer with the Kafka credentials of {@code principal}. */
    static KafkaProducer<String, String> producerAs(String principal) {
        Map<String, Object> config = new java.util.HashMap<>(LocalStack.ensureStarted().kafkaClientConfig(principal));
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    @AfterAll
    static void closeProducer() {
        if (producer == null) {
            return; // the class never started (its report names why)
        }
        producer.close();
        producer = null;
    }

    @BeforeEach
    void tails() {
        store.ensureBucket(BUCKET);
        events = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.BACKUP_EVENTS);
        deadLetters = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.DLQ);
    }

    @AfterEach
    void closeTails() {
        events.close();
        deadLetters.close();
    }

    /**
     * Writes a FULL chunked backup (its own chain) of a directory with {@code size} random bytes into the test
     * repository, as the snapshot-worker does, and returns the SnapshotCreated describing it.
     */
    SnapshotCreated uploadedSnapshot(int size) {
        return uploadedSnapshot(size, SOURCE, null);
    }

    /** The same for backup of {@code source} taken for {@code policyId}, in that source's own repository. */
    SnapshotCreated uploadedSnapshot(int size, String source, String policyId) {
        String backupId = UUID.randomUUID().toString();
        try {
            Path dir = Files.createTempDirectory("storage-test-dump");
            try {
                byte[] content = new byte[size];
                new Random().nextBytes(content);
                Files.write(dir.resolve("4242.dat"), content);
                Files.writeString(dir.resolve("toc.dat"), "toc of " + backupId);
                Repository repository = repositories.openOrInit(BUCKET, REPOSITORY_ROOT + "/" + source);
                WriteResult result = repository.writer().write(dir, dev.lifeboat.repository.snapshot.BackupType.FULL,
                        ChainContext.latestChain(backupId));
                Manifest m = result.manifest();
                String key = repository.layout().manifest(m.chainId(), backupId);
                String sha;
                try (InputStream in = store.open(BUCKET, key)) {
                    sha = Sha256.of(in).sha256();
                }
                long stored = m.distinctChunks().keySet().stream().mapToLong(Manifest.ChunkRef::storedSize).sum();
                Instant finished = Instant.now().truncatedTo(ChronoUnit.MILLIS);
                return new SnapshotCreated(backupId, source, policyId, BackupType.FULL, "orders", BUCKET, key, stored,
                        m.stats().bytesRead(), sha, "15.14", "pg_dump (PostgreSQL) 15.14", "test-worker",
                        finished.minusSeconds(60), finished, new RepositoryStats(RepositoryStats.CHUNKED_V1,
                        m.chainId(), m.parentBackupId(), BackupType.FULL, result.promotedToFull(),
                        m.stats().bytesRead(), m.stats().bytesUploaded(), m.stats().chunksTotal(),
                        m.stats().chunksUploaded()));
            } finally {
                try (var files = Files.walk(dir)) {
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Writes a physical FULL base backup of {@code source} (one {@code base.tar} of random bytes, the manifest
     * recording {@code physical}) into that source's repository, as the snapshot-worker does, and returns the
     * SnapshotCreated describing it.
     */
    SnapshotCreated uploadedPhysicalSnapshot(String source, String policyId, Manifest.Physical physical) {
        String backupId = UUID.randomUUID().toString();
        byte[] tar = new byte[30_000];
        new Random().nextBytes(tar);
        Repository repository = repositories.openOrInit(BUCKET, REPOSITORY_ROOT + "/" + source);
        try {
            WriteResult result = repository.writer().physical(() -> physical).write(
                    java.util.List.of(new dev.lifeboat.repository.snapshot.SnapshotWriter.Entry(Manifest.BASE_TAR,
                            () -> new java.io.ByteArrayInputStream(tar))).iterator(),
                    dev.lifeboat.repository.snapshot.BackupType.FULL, ChainContext.latestChain(backupId), null);
            Manifest m = result.manifest();
            String key = repository.layout().manifest(m.chainId(), backupId);
            String sha;
            try (InputStream in = store.open(BUCKET, key)) {
                sha = Sha256.of(in).sha256();
            }
            long stored = m.distinctChunks().keySet().stream().mapToLong(Manifest.ChunkRef::storedSize).sum();
            Instant finished = Instant.now().truncatedTo(ChronoUnit.MILLIS);
            return new SnapshotCreated(backupId, source, policyId, BackupType.FULL, "postgres", BUCKET, key, stored,
                    m.stats().bytesRead(), sha, "15.14", "pg_basebackup (PostgreSQL) 15.14", "test-worker",
                    finished.minusSeconds(60), finished, new RepositoryStats(RepositoryStats.CHUNKED_V1,
                    m.chainId(), m.parentBackupId(), BackupType.FULL, result.promotedToFull(),
                    m.stats().bytesRead(), m.stats().bytesUploaded(), m.stats().chunksTotal(),
                    m.stats().chunksUploaded()))
                    .withMethod(SnapshotCreated.PHYSICAL, new dev.lifeboat.contracts.PhysicalBackupInfo(
                            physical.systemIdentifier(), physical.pgVersion(), physical.timeline(),
                            physical.startLsn(), physical.stopLsn(), physical.startWalSegment(),
                            physical.startTime(), physical.stopTime()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The chunked backup's manifest as stored in the test repository. */
    Manifest manifestOf(SnapshotCreated snapshot) {
        return repositories.open(BUCKET, repositoryOf(snapshot)).orElseThrow()
                .manifest(snapshot.repository().chainId(), snapshot.backupId()).orElseThrow();
    }

    /** The repository prefix of a chunked backup: its manifest key up to {@code /chains/}. */
    static String repositoryOf(SnapshotCreated snapshot) {
        return snapshot.objectKey().substring(0, snapshot.objectKey().indexOf("/chains/"));
    }

    /** Object key of a stored chunk of the chunked backup. */
    String chunkKey(SnapshotCreated snapshot, String chunkId) {
        return repositories.open(BUCKET, repositoryOf(snapshot)).orElseThrow().layout()
                .chunk(snapshot.repository().chainId(), chunkId);
    }

    /** The same event naming another source, policy or backup id (what a forger would change). */
    static SnapshotCreated claimedAs(SnapshotCreated s, String backupId, String sourceId, String policyId) {
        return new SnapshotCreated(backupId, sourceId, policyId, s.type(), s.database(), s.bucket(),
                s.objectKey(), s.sizeBytes(), s.rawBytes(), s.sha256(), s.serverVersion(), s.pgDumpVersion(),
                s.workerId(), s.startedAt(), s.finishedAt(), s.repository());
    }

    /** The same event saying the backup is at {@code bucket}/{@code objectKey} (what a forger would change). */
    static SnapshotCreated at(SnapshotCreated s, String bucket, String objectKey) {
        return new SnapshotCreated(s.backupId(), s.sourceId(), s.policyId(), s.type(), s.database(), bucket,
                objectKey, s.sizeBytes(), s.rawBytes(), s.sha256(), s.serverVersion(), s.pgDumpVersion(),
                s.workerId(), s.startedAt(), s.finishedAt(), s.repository(), s.offsite(), s.method(), s.physical());
    }

    static SnapshotCreated withSha(SnapshotCreated s, String sha256) {
        return new SnapshotCreated(s.backupId(), s.sourceId(), s.policyId(), s.type(), s.database(), s.bucket(),
                s.objectKey(), s.sizeBytes(), s.rawBytes(), sha256, s.serverVersion(), s.pgDumpVersion(),
                s.workerId(), s.startedAt(), s.finishedAt(), s.repository());
    }

    static void publish(SnapshotCreated snapshot) {
        publish(snapshot, EventCodec.headers(EventType.SNAPSHOT_CREATED, "/test/snapshot-worker", snapshot.sourceId()));
    }

    static void publish(SnapshotCreated snapshot, Headers headers) {
        try {
            producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, snapshot.sourceId(),
                    EventCodec.encodeData(snapshot), headers)).get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot publish SnapshotCreated " + snapshot.backupId(), e);
        }
    }

    /** BackupCompleted or BackupFailed of the given backup. */
    static Predicate<ConsumerRecord<String, String>> outcomeOf(String backupId) {
        return r -> {
            String type = header(r, EventCodec.H_TYPE);
            return (EventType.BACKUP_COMPLETED.ceType().equals(type) || EventType.BACKUP_FAILED.ceType().equals(type))
                    && r.value() != null && r.value().contains("\"backupId\":\"" + backupId + "\"");
        };
    }

    static String header(ConsumerRecord<String, String> record, String name) {
        return EventCodec.header(record.headers(), name);
    }

    byte[] readObject(String key) throws IOException {
        try (InputStream in = store.open(BUCKET, key)) {
            return in.readAllBytes();
        }
    }
}
