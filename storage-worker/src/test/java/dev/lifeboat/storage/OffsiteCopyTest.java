package dev.lifeboat.storage;

import dev.lifeboat.contracts.BackupCopied;
import dev.lifeboat.contracts.BackupCopyFailed;
import dev.lifeboat.contracts.BackupDeleted;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.OffsiteDestination;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.UUID;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SnapshotCreated naming an offsite destination: BackupCompleted, then the copy in a second bucket of the real
 * S3Proxy, verified there, and BackupCopied; redelivery, a destination holding another repository, and expiry.
 */
@QuarkusTest
@WithTestResource(StorageWorkerTestResource.class)
class OffsiteCopyTest extends StorageWorkerTestBase {
    static final String OFFSITE = "lifeboat-storage-offsite-test";

    @Test
    void aSealedBackupIsCopiedToTheSecondBucketVerifiedThereAndReportedOnceWhateverTheRedeliveries()
            throws IOException {
        OffsiteDestination to = new OffsiteDestination(OFFSITE, "offsite-" + UUID.randomUUID() + "/" + SOURCE);
        SnapshotCreated snapshot = uploadedSnapshot(1_500_000).withOffsite(to);

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
        OffsiteDestination to = new OffsiteDestination(OFFSITE, "foreign-" + UUID.randomUUID() + "/" + SOURCE);
        Repository.init(store, OFFSITE, to.prefix(), MasterKey.generate());
        SnapshotCreated snapshot = uploadedSnapshot(100_000).withOffsite(to);

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
    void expiringACopiedBackupDeletesItsOffsiteManifestToo() {
        OffsiteDestination to = new OffsiteDestination(OFFSITE, "expiry-" + UUID.randomUUID() + "/" + SOURCE);
        String policy = FakeScheduler.policy(SOURCE, 0, 0, 0);
        SnapshotCreated snapshot = uploadedSnapshot(200_000, SOURCE, policy).withOffsite(to);
        publish(snapshot);
        ConsumerRecord<String, String> record = events.await(copyOutcomeOf(snapshot.backupId()), WAIT);
        BackupCopied copied = (BackupCopied) EventCodec.decode(record.headers(), record.value()).data();
        assertThat(store.size(OFFSITE, copied.manifestKey())).isPresent();
        // a newer backup of the policy, so that its retention (newest only) really expires the copied one
        ExpiredBackupDeletionTest.sealed(this, 1_000, policy);

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

    private static Predicate<ConsumerRecord<String, String>> copyOutcomeOf(String backupId) {
        return r -> {
            String type = header(r, EventCodec.H_TYPE);
            return (EventType.BACKUP_COPIED.ceType().equals(type) || EventType.BACKUP_COPY_FAILED.ceType().equals(type))
                    && r.value() != null && r.value().contains("\"backupId\":\"" + backupId + "\"");
        };
    }
}
