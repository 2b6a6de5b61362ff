package dev.lifeboat.storage;

import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.repository.archive.ArchiveLayout;
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

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
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
    static final Duration WAIT = Duration.ofSeconds(60);
    static KafkaProducer<String, String> producer;

    @Inject
    ObjectStore store;

    TopicTail events;
    TopicTail deadLetters;

    @BeforeAll
    static void producer() {
        producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, LocalStack.ensureStarted().kafkaBootstrap(),
                ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), new StringSerializer());
    }

    @AfterAll
    static void closeProducer() {
        if (producer != null) {
            producer.close();
        }
    }

    @BeforeEach
    void tails() {
        store.ensureBucket(BUCKET);
        events = new TopicTail(LocalStack.ensureStarted().kafkaBootstrap(), Topics.BACKUP_EVENTS);
        deadLetters = new TopicTail(LocalStack.ensureStarted().kafkaBootstrap(), Topics.DLQ);
    }

    @AfterEach
    void closeTails() {
        events.close();
        deadLetters.close();
    }

    /** Uploads {@code size} random bytes as a backup archive and returns the SnapshotCreated describing it. */
    SnapshotCreated uploadedSnapshot(int size) {
        String backupId = UUID.randomUUID().toString();
        byte[] content = new byte[size];
        new Random().nextBytes(content);
        SnapshotCreated snapshot;
        try {
            snapshot = snapshot(backupId, size, Sha256.of(new ByteArrayInputStream(content)).sha256());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        store.put(BUCKET, snapshot.objectKey(), content);
        return snapshot;
    }

    static SnapshotCreated snapshot(String backupId, long size, String sha256) {
        Instant finished = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        return new SnapshotCreated(backupId, SOURCE, null, BackupType.FULL, "orders", BUCKET,
                ArchiveLayout.archiveKey("test", SOURCE, backupId), size, size * 3, sha256, "15.14",
                "pg_dump (PostgreSQL) 15.14", "test-worker", finished.minusSeconds(60), finished, null);
    }

    static SnapshotCreated withSha(SnapshotCreated s, String sha256) {
        return new SnapshotCreated(s.backupId(), s.sourceId(), s.policyId(), s.type(), s.database(), s.bucket(),
                s.objectKey(), s.sizeBytes(), s.rawBytes(), sha256, s.serverVersion(), s.pgDumpVersion(),
                s.workerId(), s.startedAt(), s.finishedAt(), null);
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
