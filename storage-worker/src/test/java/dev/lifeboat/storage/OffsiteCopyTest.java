package dev.lifeboat.storage;

import dev.lifeboat.contracts.BackupCopied;
import dev.lifeboat.contracts.BackupCopyFailed;
import dev.lifeboat.contracts.BackupDeleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.OffsiteDestination;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.WithTestResource;
import jakarta.inject.Inject;
import io.quarkus.test.junit.QuarkusTest;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;
import java.util.function.Predicate;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;

/**
 * SnapshotCreated naming its policy's offsite destination: BackupCompleted, then the copy in a second bucket of the
 * real S3Proxy, verified there, and BackupCopied; redelivery, a destination holding another repository, and expiry.
 * An offsite destination the policy does not name is never written, on first delivery or on a replay.
 */
@QuarkusTest
@WithTestResource(StorageWorkerTestResource.class)
class OffsiteCopyTest extends StorageWorkerTestBase {
    static final String OFFSITE = "lifeboat-storage-offsite-test";

    @Inject
    AgroalDataSource dataSource;

    @Test
    void aSealedBackupIsCopiedToTheSecondBucketVerifiedThereAndReportedOnceWhateverTheRedeliveries()
            throws IOException {
        String root = "offsite-" + UUID.randomUUID();
        OffsiteDestination to = new OffsiteDestination(OFFSITE, root + "/" + SOURCE);
        String policy = FakeScheduler.policyWithOffsite(SOURCE, OFFSITE, root);
        SnapshotCreated snapshot = uploadedSnapshot(1_500_000, SOURCE, policy).withOffsite(to);

        publish(snapshot);

        ConsumerRecord<String, String> completed = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(completed, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        ConsumerRecord<String, String> record = events.await(copyOutcomeOf(snapshot.backupId()), WAIT);
        assertThat(record.offset()).isGreaterThan(completed.offset());
        assertThat(record.key()).isEqualTo(completed.key());
        assertThat(header(record, EventCodec.H_ID))
                .isEqualTo(Ids.eventId(snapshot.backupId(), EventType.BACKUP_COPIED));
        BackupCopied copied = (BackupCopied) EventCodec.decode(record.headers(), record.value()).data();
        Manifest manifest = manifestOf(snapshot);
        assertThat(copied.bucket()).isEqualTo(OFFSITE);
        assertThat(copied.prefix()).isEqualTo(to.prefix());
        assertThat(copied.manifestKey()).isEqualTo(to.prefix() + "/chains/" + manifest.chainId() + "/manifests/"
                + snapshot.backupId() + ".json");
        assertThat(copied.manifestSha256()).isEqualTo(snapshot.sha256());
        assertThat(copied.chunksTotal()).isEqualTo(manifest.distinctChunks().size());
        assertThat(copied.chunksCopied()).isEqualTo(copied.chunksTotal());
        assertThat(copied.bytesCopied()).isEqualTo(snapshot.sizeBytes());
        assertThat(copied.verification()).isEqualTo("FULL_OK");

        // the objects are really in the second bucket, and the worker's master key opens and verifies them
        assertThat(store.size(OFFSITE, copied.manifestKey())).isPresent();
        assertThat(store.size(OFFSITE, to.prefix() + "/keys/repository-key.json")).isPresent();
        for (Manifest.ChunkRef ref : manifest.distinctChunks().keySet()) {
            assertThat(store.size(OFFSITE, to.prefix() + "/chains/" + manifest.chainId() + "/chunks/"
                    + ref.id().substring(0, 2) + "/" + ref.id())).contains((long) ref.storedSize());
        }
        Repository copy = Repository.open(store, OFFSITE, to.prefix(), repositories.masterKey());
        Manifest offsite = copy.manifest(manifest.chainId(), snapshot.backupId()).orElseThrow();
        assertThat(offsite).isEqualTo(manifest);
        assertThat(copy.verifier().full(offsite).problems()).isEmpty();

        // redelivery: the same event (id and data), nothing written again
        long manifestBytes = store.size(OFFSITE, copied.manifestKey()).orElseThrow();
        publish(snapshot);
        ConsumerRecord<String, String> again = events.awaitCount(copyOutcomeOf(snapshot.backupId()), 2, WAIT).get(1);
        assertThat(header(again, EventCodec.H_ID)).isEqualTo(header(record, EventCodec.H_ID));
        assertThat(again.value()).isEqualTo(record.value());
        assertThat(store.size(OFFSITE, copied.manifestKey())).contains(manifestBytes);
    }

    @Test
    void aDestinationHoldingAnotherRepositoryFailsTheCopyButNotTheBackup() {
        String root = "foreign-" + UUID.randomUUID();
        OffsiteDestination to = new OffsiteDestination(OFFSITE, root + "/" + SOURCE);
        Repository.init(store, OFFSITE, to.prefix(), MasterKey.generate());
        String policy = FakeScheduler.policyWithOffsite(SOURCE, OFFSITE, root);
        SnapshotCreated snapshot = uploadedSnapshot(100_000, SOURCE, policy).withOffsite(to);

        publish(snapshot);

        ConsumerRecord<String, String> completed = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(completed, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        ConsumerRecord<String, String> record = events.await(copyOutcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COPY_FAILED.ceType());
        BackupCopyFailed failed = (BackupCopyFailed) EventCodec.decode(record.headers(), record.value()).data();
        assertThat(failed.retryable()).isFalse();
        assertThat(failed.bucket()).isEqualTo(OFFSITE);
        assertThat(failed.reason()).contains("s3://" + OFFSITE + "/" + to.prefix())
                .contains("holds another repository").contains("refusing to copy");
        assertThat(store.list(OFFSITE, to.prefix() + "/chains/")).isEmpty();
        assertThat(deadLetters.seen(r -> r.value() != null && r.value().contains(snapshot.backupId()))).isEmpty();
    }

    @Test
    void garbageCollectionOfTheOffsiteRepositoryReadsACopysManifestOnlyAsSealed() throws IOException {
        String root = "offsite-gc-" + UUID.randomUUID();
        OffsiteDestination to = new OffsiteDestination(OFFSITE, root + "/" + SOURCE);
        String policy = FakeScheduler.policyWithOffsite(SOURCE, OFFSITE, root);
        SnapshotCreated snapshot = uploadedSnapshot(200_000, SOURCE, policy).withOffsite(to);
        publish(snapshot);
        ConsumerRecord<String, String> record = events.await(copyOutcomeOf(snapshot.backupId()), WAIT);
        BackupCopied copied = (BackupCopied) EventCodec.decode(record.headers(), record.value()).data();
        String chain = manifestOf(snapshot).chainId();
        byte[] copyBytes = Repository.readAll(store, OFFSITE, copied.manifestKey(), Repository.MAX_MANIFEST_BYTES,
                "manifest");
        java.util.List<String> chunks = store.list(OFFSITE, to.prefix() + "/chains/" + chain + "/chunks/");
        store.delete(OFFSITE, copied.manifestKey());

        io.restassured.path.json.JsonPath missing = offsiteGc(to);
        assertThat(missing.getList("repositories[0].sealedManifestsRefused", java.util.Map.class)).containsExactly(
                java.util.Map.of("backupId", snapshot.backupId(), "chainId", chain, "reason", "missing"));
        assertThat(store.list(OFFSITE, to.prefix() + "/chains/" + chain + "/chunks/")).isEqualTo(chunks);

        store.put(OFFSITE, copied.manifestKey(), copyBytes);
        assertThat(offsiteGc(to).getList("repositories[0].sealedManifestsRefused")).isEmpty();
    }

    private static io.restassured.path.json.JsonPath offsiteGc(OffsiteDestination to) {
        return given().auth().oauth2(dev.lifeboat.testsupport.Tokens.admin()).queryParam("bucket", to.bucket())
                .queryParam("prefix", to.prefix()).when().post("/api/v1/gc").then().statusCode(200).extract()
                .jsonPath();
    }

    @Test
    void expiringACopiedBackupDeletesItsOffsiteManifestToo() {
        String root = "expiry-" + UUID.randomUUID();
        OffsiteDestination to = new OffsiteDestination(OFFSITE, root + "/" + SOURCE);
        String policy = FakeScheduler.policyWithOffsite(SOURCE, OFFSITE, root);
        SnapshotCreated snapshot = uploadedSnapshot(200_000, SOURCE, policy).withOffsite(to);
        publish(snapshot);
        ConsumerRecord<String, String> record = events.await(copyOutcomeOf(snapshot.backupId()), WAIT);
        BackupCopied copied = (BackupCopied) EventCodec.decode(record.headers(), record.value()).data();
        assertThat(store.size(OFFSITE, copied.manifestKey())).isPresent();
        // a newer backup of the policy, so that its retention (newest only) really expires the copied one
        ExpiredBackupDeletionTest.sealedAs(this, uploadedSnapshot(1_000, SOURCE, policy).withOffsite(to));

        ExpiredBackupDeletionTest.publish(ExpiredBackupDeletionTest.expiry(policy, snapshot.backupId()));

        ConsumerRecord<String, String> deletedRecord = events.await(r ->
                EventType.BACKUP_DELETED.ceType().equals(header(r, EventCodec.H_TYPE)) && r.value() != null
                        && r.value().contains(snapshot.backupId()), WAIT);
        BackupDeleted deleted = (BackupDeleted) EventCodec.decode(deletedRecord.headers(), deletedRecord.value())
                .data();
        assertThat(deleted.deletedObjects()).containsExactly("s3://" + BUCKET + "/" + snapshot.objectKey(),
                "s3://" + OFFSITE + "/" + copied.manifestKey());
        assertThat(store.size(BUCKET, snapshot.objectKey())).isEmpty();
        assertThat(store.size(OFFSITE, copied.manifestKey())).isEmpty();
    }

    @Test
    void anOffsiteDestinationThePolicyDoesNotNameIsRefusedAndNeverWritten() {
        String root = "offsite-" + UUID.randomUUID();
        String policy = FakeScheduler.policyWithOffsite(SOURCE, OFFSITE, root);
        OffsiteDestination policys = new OffsiteDestination(OFFSITE, root + "/" + SOURCE);
        SnapshotCreated real = uploadedSnapshot(100_000, SOURCE, policy).withOffsite(policys);
        String exfil = freshBucket();
        OffsiteDestination loot = new OffsiteDestination(exfil, "loot/" + SOURCE);

        // a bucket of the attacker's choosing instead of the policy's offsite destination
        publish(real.withOffsite(loot));
        BackupFailed refused = failure(events.await(outcomeOf(real.backupId()), WAIT));
        assertThat(refused.reason()).contains("asks for an offsite copy to s3://" + exfil + "/loot/" + SOURCE)
                .contains("its offsite copy in s3://" + OFFSITE + "/" + root + "/" + SOURCE)
                .contains("policy '" + policy + "'").contains("nothing was copied");
        // a backup without a policy is never copied offsite
        publish(claimedAs(real, real.backupId(), SOURCE, null).withOffsite(loot));
        BackupFailed noPolicy = failure(events.awaitCount(outcomeOf(real.backupId()), 2, WAIT).get(1));
        assertThat(noPolicy.reason()).contains("asks for an offsite copy to s3://" + exfil)
                .contains("get no offsite copy by this worker's lifeboat.object-store.default-bucket");

        // the refusals were not recorded: the genuine event seals the backup and copies it where the policy says
        publish(real);
        ConsumerRecord<String, String> completed = events.awaitCount(outcomeOf(real.backupId()), 3, WAIT).get(2);
        assertThat(header(completed, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        ConsumerRecord<String, String> copied = events.await(copyOutcomeOf(real.backupId()), WAIT);
        assertThat(header(copied, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COPIED.ceType());
        assertThat(((BackupCopied) EventCodec.decode(copied.headers(), copied.value()).data()).bucket())
                .isEqualTo(OFFSITE);
        assertThat(store.list(exfil, "")).as("nothing written to the bucket the records named").isEmpty();
        given().when().get("/q/metrics").then().statusCode(200)
                .body(containsString("lifeboat_backup_seals_refused_total"),
                        containsString("reason=\"OFFSITE_NOT_POLICYS\""));
    }

    @Test
    void aReplayOfASealedBackupNamingAnOffsiteDestinationItsPolicyLacksQueuesNoCopy() throws SQLException {
        // sealed for a policy without offsite copies: nothing was copied, so nothing is stored about a copy
        String policy = FakeScheduler.policy(SOURCE, 0, 0, 0);
        SnapshotCreated sealed = ExpiredBackupDeletionTest.sealed(this, 50_000, policy);
        String exfil = freshBucket();

        // the same backup announced again, now asking for a copy: the stored verdict answers it, and before this
        // check the copy was queued from the record as it came
        publish(sealed.withOffsite(new OffsiteDestination(exfil, "loot/" + SOURCE)));
        ConsumerRecord<String, String> again = events.awaitCount(outcomeOf(sealed.backupId()), 2, WAIT).get(1);
        assertThat(header(again, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        // same key, same partition: once this one is sealed and copied, the replay was handled long before
        String root = "marker-" + UUID.randomUUID();
        String markerPolicy = FakeScheduler.policyWithOffsite(SOURCE, OFFSITE, root);
        SnapshotCreated marker = uploadedSnapshot(1_000, SOURCE, markerPolicy)
                .withOffsite(new OffsiteDestination(OFFSITE, root + "/" + SOURCE));
        publish(marker);
        events.await(copyOutcomeOf(marker.backupId()), WAIT);

        assertThat(jobsOn("copy:" + sealed.backupId())).as("copy jobs of the replayed backup").isZero();
        assertThat(events.seen(copyOutcomeOf(sealed.backupId()))).isEmpty();
        assertThat(store.list(exfil, "")).as("nothing written to the bucket the replay named").isEmpty();
    }

    @Test
    void aReplayOfASealedBackupNamingAnotherObjectQueuesNoCopyOfIt() throws SQLException {
        String root = "offsite-" + UUID.randomUUID();
        String policy = FakeScheduler.policyWithOffsite(SOURCE, OFFSITE, root);
        OffsiteDestination to = new OffsiteDestination(OFFSITE, root + "/" + SOURCE);
        SnapshotCreated sealed = uploadedSnapshot(50_000, SOURCE, policy).withOffsite(to);
        publish(sealed);
        events.await(copyOutcomeOf(sealed.backupId()), WAIT);
        // nothing stored about the copy any more, as after a copy given up: a replay queues the copy again
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("DELETE FROM storage.offsite_copy WHERE backup_id = ?")) {
            ps.setObject(1, UUID.fromString(sealed.backupId()));
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
        // another source's backup in the same bucket, never announced
        String victim = "victim-" + UUID.randomUUID().toString().substring(0, 8);
        SnapshotCreated other = uploadedSnapshot(60_000, victim, null);
        long jobsBefore = jobsOn("copy:" + sealed.backupId());

        // the sealed backup announced again with its own source, policy and offsite destination, but the other
        // backup's bucket and manifest: the stored verdict answers it, and before this check the copy was queued
        // from the record as it came, copying the other source's backup as this one's offsite copy
        publish(claimedAs(other, sealed.backupId(), SOURCE, policy).withOffsite(to));
        ConsumerRecord<String, String> again = events.awaitCount(outcomeOf(sealed.backupId()), 2, WAIT).get(1);
        assertThat(header(again, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        // same key, same partition: once this one is sealed and copied, the replay was handled long before
        SnapshotCreated marker = uploadedSnapshot(1_000, SOURCE, policy).withOffsite(to);
        publish(marker);
        events.await(copyOutcomeOf(marker.backupId()), WAIT);

        assertThat(jobsOn("copy:" + sealed.backupId())).as("copy jobs of the replayed backup").isEqualTo(jobsBefore);
        Manifest victims = manifestOf(other);
        assertThat(store.list(OFFSITE, to.prefix() + "/chains/" + victims.chainId() + "/"))
                .as("nothing of the other source's backup in this source's offsite repository").isEmpty();
        given().when().get("/q/metrics").then().statusCode(200)
                .body(containsString("reason=\"NOT_THE_SEALED_OBJECT\""));

        // the genuine replay still queues the copy again
        publish(sealed);
        events.awaitCount(copyOutcomeOf(sealed.backupId()), 2, WAIT);
        assertThat(jobsOn("copy:" + sealed.backupId())).isEqualTo(jobsBefore + 1);
    }

    /** A bucket of this test's own, empty, so that "nothing was written there" means the whole bucket. */
    private String freshBucket() {
        String bucket = "lifeboat-exfil-" + UUID.randomUUID().toString().substring(0, 8);
        store.ensureBucket(bucket);
        return bucket;
    }

    private static BackupFailed failure(ConsumerRecord<String, String> record) {
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_FAILED.ceType());
        return (BackupFailed) EventCodec.decode(record.headers(), record.value()).data();
    }

    private long jobsOn(String subject) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM storage.storage_job WHERE subject = ?")) {
            ps.setString(1, subject);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static Predicate<ConsumerRecord<String, String>> copyOutcomeOf(String backupId) {
        return r -> {
            String type = header(r, EventCodec.H_TYPE);
            return (EventType.BACKUP_COPIED.ceType().equals(type) || EventType.BACKUP_COPY_FAILED.ceType().equals(type))
                    && r.value() != null && r.value().contains("\"backupId\":\"" + backupId + "\"");
        };
    }
}
