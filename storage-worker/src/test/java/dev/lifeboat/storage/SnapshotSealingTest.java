package dev.lifeboat.storage;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupProgress;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.storage.config.StorageConfig;
import dev.lifeboat.storage.messaging.BackupEventPublisher;
import dev.lifeboat.storage.repository.SealedBackup;
import dev.lifeboat.testsupport.LocalStack;
import io.quarkus.arc.ClientProxy;
import io.quarkus.test.junit.QuarkusMock;
import io.quarkus.test.common.WithTestResource;
import jakarta.inject.Inject;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import io.quarkus.test.junit.QuarkusTest;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;

/** storage-worker against the real Kafka, PostgreSQL and S3Proxy: SnapshotCreated in, verdict and manifest out. */
@QuarkusTest
@WithTestResource(StorageWorkerTestResource.class)
class SnapshotSealingTest extends StorageWorkerTestBase {
    static final String DECOY = "lifeboat-storage-decoy-test";

    @Inject
    BackupEventPublisher publisher;
    @Inject
    HoldableObjectStore.Counting counting;
    @Inject
    StorageConfig config;

    @Test
    void verifiedBackupIsCompletedInTheSnapshotsTraceWithItsTimings() {
        SnapshotCreated snapshot = uploadedSnapshot(300_000);
        String traceId = UUID.randomUUID().toString().replace("-", "");
        Headers headers = EventCodec.headers(EventType.SNAPSHOT_CREATED, "/test/snapshot-worker", snapshot.sourceId());
        headers.add("traceparent", ("00-" + traceId + "-00f067aa0ba902b7-01").getBytes(StandardCharsets.UTF_8));

        publish(snapshot, headers);

        ConsumerRecord<String, String> record = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        assertThat(header(record, EventCodec.H_ID)).isEqualTo(Ids.eventId(snapshot.backupId(), EventType.BACKUP_COMPLETED));
        assertThat(record.key()).isEqualTo(snapshot.sourceId());
        assertThat(header(record, "traceparent")).as("the verdict continues the snapshot's trace")
                .startsWith("00-" + traceId + "-");
        BackupCompleted completed = (BackupCompleted) EventCodec.decode(record.headers(), record.value()).data();
        assertThat(completed.manifestKey()).isEqualTo(snapshot.objectKey());
        assertThat(completed.sizeBytes()).isEqualTo(snapshot.sizeBytes());
        assertThat(completed.rawBytes()).isEqualTo(snapshot.rawBytes());
        assertThat(completed.sha256()).isEqualTo(snapshot.sha256());
        assertThat(completed.bucket()).isEqualTo(BUCKET);
        assertThat(completed.startedAt()).isEqualTo(snapshot.startedAt());
        assertThat(completed.durationMs())
                .isEqualTo(Duration.between(snapshot.startedAt(), completed.completedAt()).toMillis())
                .isGreaterThanOrEqualTo(60_000);
    }

    @Test
    void snapshotOutsideAChunkedRepositoryIsRefusedAsTheRetiredSingleArchiveFormat() {
        SnapshotCreated chunked = uploadedSnapshot(1_000);
        SnapshotCreated archive = new SnapshotCreated(chunked.backupId(), SOURCE, null, chunked.type(), "orders",
                BUCKET, "test/" + SOURCE + "/" + chunked.backupId() + "/dump.tar.zst", 1234, 3702, "ab".repeat(32),
                "15.14", "pg_dump (PostgreSQL) 15.14", "test-worker", chunked.startedAt(), chunked.finishedAt(), null);

        publish(archive);

        ConsumerRecord<String, String> record = events.await(outcomeOf(archive.backupId()), WAIT);
        BackupFailed failed = (BackupFailed) EventCodec.decode(record.headers(), record.value()).data();
        assertThat(failed.stage()).isEqualTo("VERIFY");
        assertThat(failed.reason()).contains("s3://" + BUCKET + "/" + archive.objectKey())
                .contains("single-archive backups are no longer sealed");

        // not recorded: the real backup of that id, arriving later, is still sealed
        publish(chunked);
        ConsumerRecord<String, String> real = events.awaitCount(outcomeOf(chunked.backupId()), 2, WAIT).get(1);
        assertThat(header(real, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
    }

    @Test
    void redeliveredSnapshotReEmitsTheSameEventWithoutRewritingTheManifest() throws IOException {
        SnapshotCreated snapshot = uploadedSnapshot(10_000);
        Headers headers = EventCodec.headers(EventType.SNAPSHOT_CREATED, "/test/snapshot-worker", snapshot.sourceId());
        publish(snapshot, headers);
        ConsumerRecord<String, String> first = events.await(outcomeOf(snapshot.backupId()), WAIT);
        String manifestKey = snapshot.objectKey();
        byte[] manifest = readObject(manifestKey);

        publish(snapshot, headers);

        ConsumerRecord<String, String> second = events.awaitCount(outcomeOf(snapshot.backupId()), 2, WAIT).get(1);
        assertThat(header(second, EventCodec.H_ID)).isEqualTo(header(first, EventCodec.H_ID))
                .isEqualTo(Ids.eventId(snapshot.backupId(), EventType.BACKUP_COMPLETED));
        assertThat(EventCodec.decode(second.headers(), second.value()).data())
                .isEqualTo(EventCodec.decode(first.headers(), first.value()).data());
        assertThat(readObject(manifestKey)).isEqualTo(manifest);
    }

    @Test
    void redeliveredFailedSnapshotReEmitsTheSameFailure() {
        SnapshotCreated snapshot = withSha(uploadedSnapshot(2_000), "f".repeat(64));
        publish(snapshot);
        ConsumerRecord<String, String> first = events.await(outcomeOf(snapshot.backupId()), WAIT);

        publish(snapshot);

        ConsumerRecord<String, String> second = events.awaitCount(outcomeOf(snapshot.backupId()), 2, WAIT).get(1);
        assertThat(header(second, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_FAILED.ceType());
        assertThat(header(second, EventCodec.H_ID)).isEqualTo(header(first, EventCodec.H_ID));
        assertThat(second.value()).isEqualTo(first.value());
    }

    @Test
    void malformedRecordGoesToDeadLetterTopicAndTheNextEventStillCompletes() {
        String badKey = "malformed-" + UUID.randomUUID();
        producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, badKey, "{\"backupId\": \"oops",
                EventCodec.headers(EventType.SNAPSHOT_CREATED, "/test/snapshot-worker", badKey)));
        SnapshotCreated valid = uploadedSnapshot(1_000);
        publish(valid);

        ConsumerRecord<String, String> dead = deadLetters.await(r -> badKey.equals(r.key()), WAIT);
        assertThat(header(dead, "dead-letter-reason")).contains("not valid JSON");
        assertThat(header(dead, "dead-letter-topic")).isEqualTo(Topics.BACKUP_EVENTS);
        assertThat(dead.value()).isEqualTo("{\"backupId\": \"oops");
        ConsumerRecord<String, String> completed = events.await(outcomeOf(valid.backupId()), WAIT);
        assertThat(header(completed, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
    }

    @Test
    void aSnapshotWhoseVerdictKafkaRefusesIsParkedWithTheReasonNotDeadLetteredAndItsReplayIsSealed() {
        SnapshotCreated snapshot = uploadedSnapshot(3_000);
        BackupEventPublisher real = ClientProxy.unwrap(publisher);
        AtomicBoolean refused = new AtomicBoolean();
        // the lifecycle topic refuses this service once, as a missing ACL would
        QuarkusMock.installMockForType(new BackupEventPublisher(null, config) {
            @Override
            public void publish(SealedBackup verdict, String key) {
                if (verdict.backupId().toString().equals(snapshot.backupId()) && refused.compareAndSet(false, true)) {
                    throw new TopicAuthorizationException(Set.of(Topics.BACKUP_EVENTS));
                }
                real.publish(verdict, key);
            }
        }, BackupEventPublisher.class);
        try (TopicTail parked = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN),
                Topics.PARKED)) {
            publish(snapshot);

            ConsumerRecord<String, String> record = parked.await(r -> r.value().contains(snapshot.backupId()), WAIT);
            assertThat(header(record, Parking.REASON)).contains("backup " + snapshot.backupId())
                    .contains("Not authorized to access topics: [" + Topics.BACKUP_EVENTS + "]");
            assertThat(header(record, Parking.ORIGIN_TOPIC)).isEqualTo(Topics.BACKUP_EVENTS);
            assertThat(events.seen(outcomeOf(snapshot.backupId()))).isEmpty();

            // replayed once the ACL is fixed, as scheduler-service replays a parked record: the stored verdict goes out
            producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, record.key(), record.value(),
                    Parking.withoutParkingHeaders(record.headers())));
            ConsumerRecord<String, String> verdict = events.await(outcomeOf(snapshot.backupId()), WAIT);
            assertThat(header(verdict, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
            assertThat(deadLetters.seen(r -> r.value() != null && r.value().contains(snapshot.backupId()))).isEmpty();
        }
    }

    @Test
    void otherLifecycleEventsAreSkipped() {
        SnapshotCreated snapshot = uploadedSnapshot(1_000);
        producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, snapshot.sourceId(),
                EventCodec.encodeData(new BackupProgress(snapshot.backupId(), SOURCE, "UPLOADING", 500, 50, "w1")),
                EventCodec.headers(EventType.BACKUP_PROGRESS, "/test/snapshot-worker", snapshot.sourceId())));
        publish(snapshot);

        // same key, same partition: once the snapshot's verdict is out, the progress event was handled before it
        events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(events.seen(outcomeOf(snapshot.backupId()))).hasSize(1);
        assertThat(deadLetters.readFor(Duration.ofSeconds(2))
                .filter(r -> r.value() != null && r.value().contains(snapshot.backupId()))).isEmpty();
    }

    @Test
    void readinessCoversDatabaseKafkaAndObjectStore() {
        given().auth().oauth2(Tokens.admin()).when().get("/q/health/ready").then().statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", hasItems("object-store", "SmallRye Reactive Messaging - readiness check",
                        "Database connections health check"));
    }

    @Test
    void metricsCountVerdictsAndVerifiedBytes() {
        SnapshotCreated snapshot = uploadedSnapshot(4_096);
        publish(snapshot);
        events.await(outcomeOf(snapshot.backupId()), WAIT);

        given().auth().oauth2(Tokens.admin()).when().get("/q/metrics").then().statusCode(200)
                .body(containsString("lifeboat_backups_completed_total"))
                .body(containsString("lifeboat_backups_failed_total{stage=\"VERIFY\"}"))
                .body(containsString("lifeboat_backup_verified_bytes_total"))
                .body(containsString("lifeboat_backup_verify_duration_seconds_count"));
    }

    @Test
    void manifestKeyInAnotherSourcesRepositoryOrOfAnotherBackupIsRefusedAndNothingSealed() {
        SnapshotCreated real = uploadedSnapshot(40_000);
        String otherSource = "storage-test-intruder";

        // the real manifest claimed by another source: its key is in this source's repository
        SnapshotCreated stolen = claimedAs(real, real.backupId(), otherSource, null);
        publish(stolen);
        ConsumerRecord<String, String> refused = events.await(outcomeOf(real.backupId()), WAIT);
        assertThat(header(refused, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_FAILED.ceType());
        BackupFailed failed = (BackupFailed) EventCodec.decode(refused.headers(), refused.value()).data();
        assertThat(failed.sourceId()).isEqualTo(otherSource);
        assertThat(failed.reason()).contains("not in the repository of source '" + otherSource + "'")
                .contains("nothing sealed");

        // the real manifest claimed for another backup id of the right source
        String otherBackup = UUID.randomUUID().toString();
        publish(claimedAs(real, otherBackup, SOURCE, null));
        BackupFailed renamed = (BackupFailed) decoded(events.await(outcomeOf(otherBackup), WAIT));
        assertThat(renamed.reason()).contains("is the manifest of backup " + real.backupId())
                .contains("not of backup " + otherBackup);

        // the refusals were not recorded: the genuine event still seals the backup
        publish(real);
        ConsumerRecord<String, String> completed = events.awaitCount(outcomeOf(real.backupId()), 2, WAIT).get(1);
        assertThat(header(completed, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        given().when().get("/q/metrics").then().statusCode(200)
                .body(containsString("lifeboat_backup_seals_refused_total"), containsString("reason=\"KEY_OF_OTHER_SOURCE_OR_BACKUP\""));
    }

    @Test
    void backupAlreadySealedForAnotherSourceGetsNoEvent() {
        SnapshotCreated real = uploadedSnapshot(30_000);
        publish(real);
        assertThat(header(events.await(outcomeOf(real.backupId()), WAIT), EventCodec.H_TYPE))
                .isEqualTo(EventType.BACKUP_COMPLETED.ceType());

        // the same backup id again, for another source, then a marker to know the worker got past it
        publish(claimedAs(real, real.backupId(), "storage-test-intruder", null));
        SnapshotCreated marker = uploadedSnapshot(1_000, "storage-test-intruder", null);
        publish(marker);
        events.await(outcomeOf(marker.backupId()), WAIT);

        given().when().get("/q/metrics").then().statusCode(200)
                .body(containsString("lifeboat_backup_seals_refused_total"), containsString("reason=\"SEALED_FOR_OTHER_SOURCE\""));
        assertThat(events.seen(outcomeOf(real.backupId()))).as("only the original verdict").hasSize(1);
    }

    @Test
    void snapshotInAnotherBucketOrRepositoryThanItsPolicysIsRefusedBeforeAnythingIsReadThere() throws IOException {
        String policy = FakeScheduler.policy(SOURCE, 0, 0, 0);
        SnapshotCreated real = uploadedSnapshot(50_000, SOURCE, policy);
        // the very same backup, a valid repository with its key file, chunks and manifest, in another bucket and in
        // another repository of the test bucket: only the destination check can tell them from the real one
        store.ensureBucket(DECOY);
        String elsewhere = "elsewhere-" + UUID.randomUUID() + "/" + SOURCE;
        copyRepositoryOf(real, DECOY, REPOSITORY_PREFIX);
        copyRepositoryOf(real, BUCKET, elsewhere);
        assertThat(repositories.open(DECOY, REPOSITORY_PREFIX).orElseThrow().verifier().quick(manifestOf(real)).ok())
                .as("the decoy would pass verification").isTrue();
        long decoyReads = counting.reads(DECOY);

        publish(at(real, DECOY, real.objectKey()));
        BackupFailed inDecoy = (BackupFailed) decoded(events.await(outcomeOf(real.backupId()), WAIT));
        assertThat(inDecoy.stage()).isEqualTo("VERIFY");
        assertThat(inDecoy.reason()).contains("puts backup " + real.backupId() + " in s3://" + DECOY + "/"
                        + REPOSITORY_PREFIX)
                .contains("the repository of source '" + SOURCE + "' is s3://" + BUCKET + "/" + REPOSITORY_PREFIX)
                .contains("policy '" + policy + "'").contains("nothing was read there and nothing sealed");
        assertThat(counting.reads(DECOY)).as("reads of the bucket the record named").isEqualTo(decoyReads);

        // the right bucket, another repository whose path still ends in the source id
        publish(at(real, BUCKET, elsewhere + real.objectKey().substring(REPOSITORY_PREFIX.length())));
        BackupFailed inOtherRepository = (BackupFailed) decoded(
                events.awaitCount(outcomeOf(real.backupId()), 2, WAIT).get(1));
        assertThat(inOtherRepository.reason()).contains("in s3://" + BUCKET + "/" + elsewhere + ", but")
                .contains("is s3://" + BUCKET + "/" + REPOSITORY_PREFIX);

        // without a policy, the worker's defaults say where the backup is
        publish(at(claimedAs(real, real.backupId(), SOURCE, null), DECOY, real.objectKey()));
        BackupFailed noPolicy = (BackupFailed) decoded(events.awaitCount(outcomeOf(real.backupId()), 3, WAIT).get(2));
        assertThat(noPolicy.reason()).contains("in s3://" + DECOY + "/" + REPOSITORY_PREFIX)
                .contains("lifeboat.object-store.default-bucket '" + BUCKET + "'");
        // a policy scheduler-service does not know says nowhere
        publish(claimedAs(real, real.backupId(), SOURCE, "no-such-policy"));
        BackupFailed unknown = (BackupFailed) decoded(events.awaitCount(outcomeOf(real.backupId()), 4, WAIT).get(3));
        assertThat(unknown.reason()).contains("policy 'no-such-policy', which scheduler-service does not know");
        assertThat(counting.reads(DECOY)).isEqualTo(decoyReads);

        // the refusals were not recorded: the genuine event still seals the backup where its policy puts it
        publish(real);
        ConsumerRecord<String, String> completed = events.awaitCount(outcomeOf(real.backupId()), 5, WAIT).get(4);
        assertThat(header(completed, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        assertThat(((BackupCompleted) decoded(completed)).bucket()).isEqualTo(BUCKET);
        given().when().get("/q/metrics").then().statusCode(200)
                .body(containsString("lifeboat_backup_seals_refused_total"),
                        containsString("reason=\"DESTINATION_NOT_POLICYS\""),
                        containsString("reason=\"POLICY_UNKNOWN\""));
    }

    /** Copies the key file and the backup's chain (chunks, manifest, marker) to {@code bucket}/{@code prefix}. */
    private void copyRepositoryOf(SnapshotCreated snapshot, String bucket, String prefix) throws IOException {
        String chain = snapshot.repository().chainId();
        for (String key : store.list(BUCKET, REPOSITORY_PREFIX + "/")) {
            String relative = key.substring(REPOSITORY_PREFIX.length());
            if (relative.startsWith("/keys/") || relative.contains("/" + chain)) {
                store.put(bucket, prefix + relative, readObject(key));
            }
        }
    }

    private static Object decoded(ConsumerRecord<String, String> record) {
        return EventCodec.decode(record.headers(), record.value()).data();
    }
}
