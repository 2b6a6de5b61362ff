package dev.lifeboat.storage;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.BackupDeleted;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.testsupport.Tokens;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.WithTestResource;
import jakarta.inject.Inject;
import io.quarkus.test.junit.QuarkusTest;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.function.Predicate;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;

/**
 * BackupsExpired in, chunked backup's manifest deleted from S3Proxy, BackupDeleted out (real Kafka, PostgreSQL,
 * S3Proxy); forged expiries (another source's or policy's backup, a backup the retention keeps) delete nothing.
 */
@QuarkusTest
@WithTestResource(StorageWorkerTestResource.class)
class ExpiredBackupDeletionTest extends StorageWorkerTestBase {
    static final String OTHER_SOURCE = "storage-test-other-src";
    /** The scheduler's principal publishes retention decisions. */
    static KafkaProducer<String, String> scheduler;
    /** A platform principal that may write the lifecycle topic but is not the scheduler: what a forger would hold. */
    static KafkaProducer<String, String> forger;

    @Inject
    MeterRegistry registry;

    @BeforeAll
    static void producers() {
        scheduler = producerAs("scheduler-service");
        forger = producerAs("snapshot-worker");
    }

    @AfterAll
    static void closeProducers() {
        scheduler.close();
        forger.close();
        scheduler = null;
        forger = null;
    }

    @Test
    void expiredChunkedBackupLosesItsManifestAndRedeliveryReEmitsTheSameEvent() throws Exception {
        // keep nothing but the newest: the older backup is what retention expires
        String policy = FakeScheduler.policy(SOURCE, 0, 0, 0);
        SnapshotCreated expired = sealed(this, 5_000, policy);
        SnapshotCreated kept = sealed(this, 2_000, policy);
        String manifestKey = expired.objectKey();
        assertThat(store.size(BUCKET, manifestKey)).isPresent();
        String neverSealed = UUID.randomUUID().toString();
        BackupsExpired expiry = expiry(policy, expired.backupId(), neverSealed);

        publish(expiry);

        ConsumerRecord<String, String> first = events.await(deletedOf(expired.backupId()), WAIT);
        assertThat(header(first, EventCodec.H_ID)).isEqualTo(Ids.eventId(expired.backupId(), EventType.BACKUP_DELETED));
        assertThat(first.key()).as("keyed like the backup's other lifecycle events").isEqualTo(SOURCE);
        BackupDeleted deleted = (BackupDeleted) EventCodec.decode(first.headers(), first.value()).data();
        assertThat(deleted.backupId()).isEqualTo(expired.backupId());
        assertThat(deleted.sourceId()).isEqualTo(SOURCE);
        assertThat(deleted.policyId()).isEqualTo(policy);
        assertThat(deleted.deletedObjects()).as("a chunked backup is its manifest").containsExactly(
                "s3://" + BUCKET + "/" + manifestKey);
        assertThat(store.size(BUCKET, manifestKey)).isEmpty();
        assertThat(store.size(BUCKET, kept.objectKey())).as("a backup not listed stays").isPresent();
        assertThat(FakeScheduler.authorizations()).as("the policy was read with storage-worker's own token")
                .isNotEmpty().allMatch(Tokens.bearer(FakeScheduler.TOKEN)::equals);

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
    void forgedExpiriesDeleteNothingAndTheBackupsStillRestore() throws Exception {
        String policy = FakeScheduler.policy(SOURCE, 0, 0, 0);
        String siblingPolicy = FakeScheduler.policy(SOURCE, 0, 0, 0);
        String otherSourcePolicy = FakeScheduler.policy(OTHER_SOURCE, 0, 0, 0);
        SnapshotCreated older = sealed(this, 4_000, policy);
        SnapshotCreated newest = sealed(this, 3_000, policy);
        SnapshotCreated otherSources = sealed(this, 3_500, OTHER_SOURCE, otherSourcePolicy);

        Map<String, Double> before = refusals();
        // a real backup named under the other source's policy
        publish(forger, expiryOf(otherSourcePolicy, OTHER_SOURCE, older.backupId()));
        // the event's source does not own the policy it names
        publish(forger, expiryOf(policy, OTHER_SOURCE, older.backupId()));
        // a policy of the right source that did not take the backup
        publish(forger, expiryOf(siblingPolicy, SOURCE, older.backupId()));
        // the right policy, but its retention keeps the newest backup
        publish(forger, expiryOf(policy, SOURCE, newest.backupId()));
        // another source's backup named under this source's policy
        publish(forger, expiryOf(policy, SOURCE, otherSources.backupId()));
        // a policy scheduler-service does not know
        publish(forger, expiryOf("no-such-policy", SOURCE, older.backupId()));

        Map<String, Double> expected = Map.of("SEALED_FOR_OTHER_SOURCE", 2.0, "POLICY_OF_OTHER_SOURCE", 1.0,
                "SEALED_FOR_OTHER_POLICY", 1.0, "KEPT_BY_RETENTION", 1.0, "POLICY_UNKNOWN", 1.0);
        await().atMost(WAIT).untilAsserted(() -> {
            Map<String, Double> now = refusals();
            expected.forEach((reason, n) -> assertThat(now.getOrDefault(reason, 0.0) - before.getOrDefault(reason, 0.0))
                    .as("deletions refused for %s", reason).isGreaterThanOrEqualTo(n));
        });
        for (SnapshotCreated s : List.of(older, newest, otherSources)) {
            assertThat(events.seen(deletedOf(s.backupId()))).as("BackupDeleted of %s", s.backupId()).isEmpty();
            assertThat(store.size(BUCKET, s.objectKey())).as("manifest of %s", s.backupId()).isPresent();
            assertRestores(s);
        }

        // the scheduler's real decision, which the recomputed retention agrees with, still deletes
        publish(expiry(policy, older.backupId()));
        events.await(deletedOf(older.backupId()), WAIT);
        assertThat(store.size(BUCKET, older.objectKey())).isEmpty();
        assertRestores(newest);
        assertRestores(otherSources);
    }

    @Test
    void backupWhoseObjectsAreAlreadyGoneIsStillDeleted() {
        String policy = FakeScheduler.policy(SOURCE, 0, 0, 0);
        SnapshotCreated expired = sealed(this, 1_000, policy);
        sealed(this, 1_000, policy);
        store.delete(BUCKET, expired.objectKey());

        publish(expiry(policy, expired.backupId()));

        ConsumerRecord<String, String> record = events.await(deletedOf(expired.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_DELETED.ceType());
        assertThat(deadLetters.readFor(Duration.ofSeconds(1))
                .filter(r -> r.value() != null && r.value().contains(expired.backupId()))).isEmpty();
    }

    /** The backup restores from its own manifest to the bytes it was taken from (sizes and the table of contents). */
    void assertRestores(SnapshotCreated s) throws Exception {
        Manifest manifest = manifestOf(s);
        Path restored = Files.createTempDirectory("expiry-restore");
        repositories.open(BUCKET, repositoryOf(s)).orElseThrow().reader().restore(manifest, restored);
        for (Manifest.FileEntry f : manifest.files()) {
            assertThat(Files.size(restored.resolve(f.path()))).as("restored %s of %s", f.path(), s.backupId())
                    .isEqualTo(f.size());
        }
        assertThat(Files.readString(restored.resolve("toc.dat"))).isEqualTo("toc of " + s.backupId());
    }

    /** lifeboat_backup_deletions_refused_total by reason, as the worker counts it. */
    Map<String, Double> refusals() {
        Map<String, Double> out = new HashMap<>();
        registry.find("lifeboat.backup.deletions.refused").counters()
                .forEach(c -> out.merge(c.getId().getTag("reason"), c.count(), Double::sum));
        return out;
    }

    /** A backup of {@link #SOURCE} taken for {@code policy}, verified and sealed by the worker under test. */
    static SnapshotCreated sealed(StorageWorkerTestBase test, int size, String policy) {
        return sealed(test, size, SOURCE, policy);
    }

    static SnapshotCreated sealed(StorageWorkerTestBase test, int size, String source, String policy) {
        return sealedAs(test, test.uploadedSnapshot(size, source, policy));
    }

    /** Announces an uploaded snapshot and waits until the worker under test sealed it. */
    static SnapshotCreated sealedAs(StorageWorkerTestBase test, SnapshotCreated snapshot) {
        publish(snapshot);
        ConsumerRecord<String, String> verdict = test.events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(verdict, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        return snapshot;
    }

    static BackupsExpired expiry(String policy, String... backupIds) {
        return expiryOf(policy, SOURCE, backupIds);
    }

    static BackupsExpired expiryOf(String policy, String source, String... backupIds) {
        return new BackupsExpired(policy, source, List.of(backupIds), "GFS keep 0 daily",
                Instant.now().truncatedTo(ChronoUnit.MILLIS));
    }

    static void publish(BackupsExpired expiry) {
        if (scheduler == null) {
            scheduler = producerAs("scheduler-service");
        }
        publish(scheduler, expiry);
    }

    static void publish(KafkaProducer<String, String> as, BackupsExpired expiry) {
        try {
            as.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, expiry.policyId(),
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
