package dev.lifeboat.storage;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.BackupDeleted;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.function.Predicate;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;

/** BackupsExpired in, chunked backup's manifest deleted from S3Proxy, BackupDeleted out (real Kafka, PostgreSQL, S3Proxy). */
@QuarkusTest
@WithTestResource(StorageWorkerTestResource.class)
class ExpiredBackupDeletionTest extends StorageWorkerTestBase {
    static final String POLICY = "nightly-gfs";

    @Test
    void expiredChunkedBackupLosesItsManifestAndRedeliveryReEmitsTheSameEvent() throws Exception {
        SnapshotCreated kept = sealed(2_000);
        SnapshotCreated expired = sealed(5_000);
        String manifestKey = expired.objectKey();
        assertThat(store.size(BUCKET, manifestKey)).isPresent();
        String neverSealed = UUID.randomUUID().toString();
        BackupsExpired expiry = expiry(expired.backupId(), neverSealed);

        publish(expiry);

        ConsumerRecord<String, String> first = events.await(deletedOf(expired.backupId()), WAIT);
        assertThat(header(first, EventCodec.H_ID)).isEqualTo(Ids.eventId(expired.backupId(), EventType.BACKUP_DELETED));
        assertThat(first.key()).as("keyed like the backup's other lifecycle events").isEqualTo(SOURCE);
        BackupDeleted deleted = (BackupDeleted) EventCodec.decode(first.headers(), first.value()).data();
        assertThat(deleted.backupId()).isEqualTo(expired.backupId());
        assertThat(deleted.sourceId()).isEqualTo(SOURCE);
        assertThat(deleted.policyId()).isEqualTo(POLICY);
        assertThat(deleted.deletedObjects()).as("a chunked backup is its manifest").containsExactly(
                "s3://" + BUCKET + "/" + manifestKey);
        assertThat(store.size(BUCKET, manifestKey)).isEmpty();
        assertThat(store.size(BUCKET, kept.objectKey())).as("a backup not listed stays").isPresent();

        // the same decision again (redelivery, or the scheduler re-sending it): nothing more is deleted, same event
        store.put(BUCKET, expired.objectKey(), new byte[]{1, 2, 3});
        publish(expiry);

        ConsumerRecord<String, String> second = events.awaitCount(deletedOf(expired.backupId()), 2, WAIT).get(1);
        assertThat(header(second, EventCodec.H_ID)).isEqualTo(header(first, EventCodec.H_ID));
        assertThat(second.value()).isEqualTo(first.value());
        assertThat(store.size(BUCKET, expired.objectKey())).as("a recorded deletion is not performed twice")
                .contains(3L);
        store.delete(BUCKET, expired.objectKey());
        assertThat(events.seen(deletedOf(neverSealed))).as("a backup this worker never sealed is skipped").isEmpty();

        given().auth().oauth2(Tokens.admin()).when().get("/q/metrics").then().statusCode(200)
                .body(containsString("lifeboat_backups_deleted_total"));
    }

    @Test
    void backupWhoseObjectsAreAlreadyGoneIsStillDeleted() {
        SnapshotCreated expired = sealed(1_000);
        store.delete(BUCKET, expired.objectKey());

        publish(expiry(expired.backupId()));

        ConsumerRecord<String, String> record = events.await(deletedOf(expired.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_DELETED.ceType());
        assertThat(deadLetters.readFor(Duration.ofSeconds(1))
                .filter(r -> r.value() != null && r.value().contains(expired.backupId()))).isEmpty();
    }

    @Test
    void expiredSingleArchiveBackupLosesManifestThenArchive() {
        SnapshotCreated expired = archiveSnapshot(1_500);
        publish(expired);
        assertThat(header(events.await(outcomeOf(expired.backupId()), WAIT), EventCodec.H_TYPE))
                .isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        String manifestKey = dev.lifeboat.repository.archive.ArchiveLayout.manifestKeyFor(expired.objectKey());

        publish(expiry(expired.backupId()));

        ConsumerRecord<String, String> record = events.await(deletedOf(expired.backupId()), WAIT);
        BackupDeleted deleted = (BackupDeleted) EventCodec.decode(record.headers(), record.value()).data();
        assertThat(deleted.deletedObjects()).as("manifest first, then the archive").containsExactly(
                "s3://" + BUCKET + "/" + manifestKey, "s3://" + BUCKET + "/" + expired.objectKey());
        assertThat(store.size(BUCKET, manifestKey)).isEmpty();
        assertThat(store.size(BUCKET, expired.objectKey())).isEmpty();
    }

    /** A backup verified and sealed by the worker under test. */
    SnapshotCreated sealed(int size) {
        SnapshotCreated snapshot = uploadedSnapshot(size);
        publish(snapshot);
        ConsumerRecord<String, String> verdict = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(verdict, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        return snapshot;
    }

    static BackupsExpired expiry(String... backupIds) {
        return new BackupsExpired(POLICY, SOURCE, List.of(backupIds), "GFS keep 1 daily",
                Instant.now().truncatedTo(ChronoUnit.MILLIS));
    }

    static void publish(BackupsExpired expiry) {
        try {
            producerAs("scheduler-service").send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, expiry.policyId(),
                    EventCodec.encodeData(expiry), EventCodec.headers(Ids.expiryEventId(expiry.policyId(),
                            expiry.backupIds()), EventType.BACKUPS_EXPIRED, "/test/scheduler", expiry.policyId(),
                            expiry.decidedAt()))).get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot publish BackupsExpired", e);
        }
    }

    static Predicate<ConsumerRecord<String, String>> deletedOf(String backupId) {
        return r -> EventType.BACKUP_DELETED.ceType().equals(header(r, EventCodec.H_TYPE))
                && r.value() != null && r.value().contains("\"backupId\":\"" + backupId + "\"");
    }
}
