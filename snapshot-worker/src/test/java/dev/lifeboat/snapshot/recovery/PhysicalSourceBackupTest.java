package dev.lifeboat.snapshot.recovery;

import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.PgCluster;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A source registered with {@code method: physical}, requested on the real topic: the worker takes a base backup
 * of the whole cluster (a PostgreSQL cluster of its own, role with REPLICATION) instead of pg_dump, and announces it
 * with its method and WAL position.
 */
@QuarkusTest
@QuarkusTestResource(value = RedeliveredBackupRequestTest.Resource.class, restrictToAnnotatedClass = true)
class PhysicalSourceBackupTest {
    static final int PORT = freePort();
    static PgCluster cluster;
    static KafkaProducer<String, String> publisher;

    @Inject
    Repositories repositories;
    @Inject
    ObjectStore store;

    @BeforeAll
    static void setUp() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        cluster = PgCluster.at(stack.workDir().resolve("pgc-physical-source-test"), PORT).start();
        publisher = new KafkaProducer<>(stack.kafkaClientConfig(LocalStack.KAFKA_PUBLISHER), new StringSerializer(),
                new StringSerializer());
        Files.createDirectories(RecoveryCommandsTestResource.SECRET_DIR);
        Files.writeString(RecoveryCommandsTestResource.SECRET_DIR.resolve("replicator-password"),
                PgCluster.REPLICATION_PASSWORD);
    }

    static int freePort() {
        return dev.lifeboat.testsupport.ServiceProcess.freePort();
    }

    @AfterAll
    static void tearDown() {
        publisher.close();
        if (cluster != null) {
            cluster.destroy();
        }
    }

    @Test
    void physicalSourceIsBackedUpAsTheWholeClusterAndAnnouncedWithItsWalPosition() throws Exception {
        String source = "phys-" + UUID.randomUUID().toString().substring(0, 8);
        String prefix = "physical-" + UUID.randomUUID();
        String backupId = UUID.randomUUID().toString();
        Object data = backUp(source, PORT, prefix, backupId);
        assertThat(data).as("outcome of backup %s", backupId).isInstanceOf(SnapshotCreated.class);
        SnapshotCreated created = (SnapshotCreated) data;
        assertThat(created.method()).isEqualTo(SnapshotCreated.PHYSICAL);
        assertThat(created.physical().timeline()).isEqualTo(1);
        assertThat(created.physical().startLsn()).matches("[0-9A-F]+/[0-9A-F]+");
        assertThat(created.physical().pgVersion()).isEqualTo("15");
        assertThat(created.pgDumpVersion()).contains("pg_basebackup");

        Repository repository = repositories.open(RedeliveredBackupRequestTest.BUCKET, prefix + "/" + source)
                .orElseThrow();
        Manifest manifest = repository.findManifest(backupId).orElseThrow();
        assertThat(manifest.files()).extracting(Manifest.FileEntry::path).containsExactly(Manifest.BASE_TAR);
        assertThat(manifest.physical().stopLsn()).isEqualTo(created.physical().stopLsn());
    }

    @Test
    void aClusterWithOtherThanTheDefaultSegmentSizeIsRefusedWithTheReasonAndNothingIsStored() throws Exception {
        int port = freePort();
        PgCluster big = PgCluster.at(LocalStack.ensureStarted().workDir().resolve("pgc-physical-segsize"), port,
                List.of("--wal-segsize=32")).start();
        try {
            String source = "phys-seg-" + UUID.randomUUID().toString().substring(0, 8);
            String prefix = "physical-" + UUID.randomUUID();
            String backupId = UUID.randomUUID().toString();
            Object data = backUp(source, port, prefix, backupId);
            assertThat(data).as("outcome of backup %s", backupId).isInstanceOf(BackupFailed.class);
            assertThat(((BackupFailed) data).reason()).contains("cannot be backed up physically")
                    .contains("WAL segments are 32 MiB (initdb --wal-segsize)").contains("nothing was backed up")
                    .contains("\"method\": \"logical\"");
            assertThat(store.list(RedeliveredBackupRequestTest.BUCKET, prefix + "/")).as("nothing stored").isEmpty();
        } finally {
            big.destroy();
        }
    }

    /** Registers {@code source} (the cluster on {@code port}) and its policy, requests a FULL, returns its outcome. */
    private Object backUp(String source, int port, String prefix, String backupId) throws Exception {
        String policy = "physical-policy-" + source;
        RedeliveredBackupRequestTest.SCHEDULER.put("sources/" + source, """
                {"id":"%s","kind":"postgresql","method":"physical","host":"127.0.0.1","port":%d,"database":"postgres",
                 "username":"%s","passwordRef":"file:%s","sslmode":"disable"}""".formatted(source, port,
                PgCluster.REPLICATION_USER, RecoveryCommandsTestResource.SECRET_DIR.resolve("replicator-password")));
        RedeliveredBackupRequestTest.SCHEDULER.put("policies/" + policy, """
                {"id":"%s","sourceId":"%s","destination":{"bucket":"%s","prefix":"%s"},"offsite":null}"""
                .formatted(policy, source, RedeliveredBackupRequestTest.BUCKET, prefix));
        RedeliveredBackupRequestTest.schedulerUrl();
        store.ensureBucket(RedeliveredBackupRequestTest.BUCKET);
        try (TopicTail events = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN),
                Topics.BACKUP_EVENTS)) {
            BackupRequested request = new BackupRequested(backupId, source, BackupType.FULL, policy, "test");
            publisher.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, source, EventCodec.encodeData(request),
                    EventCodec.headers(EventType.BACKUP_REQUESTED, "/test/publisher", source))).get();
            ConsumerRecord<String, String> record = events.await(r -> r.value() != null
                    && r.value().contains("\"backupId\":\"" + backupId + "\"")
                    && (EventType.SNAPSHOT_CREATED.ceType().equals(EventCodec.header(r.headers(), EventCodec.H_TYPE))
                    || EventType.BACKUP_FAILED.ceType().equals(EventCodec.header(r.headers(), EventCodec.H_TYPE))),
                    RedeliveredBackupRequestTest.WAIT);
            return EventCodec.decode(record.headers(), record.value()).data();
        }
    }
}
