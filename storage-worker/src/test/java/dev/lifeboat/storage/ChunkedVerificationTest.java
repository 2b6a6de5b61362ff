package dev.lifeboat.storage;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.repository.snapshot.Manifest;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.UUID;
import java.util.function.Predicate;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/**
 * Chunked backups against the real Kafka, PostgreSQL and S3Proxy: a backup written with the repository library, then
 * SnapshotCreated; quick verification seals it, a missing chunk fails it, full verification on demand catches a
 * flipped bit and names the chunk.
 */
@QuarkusTest
@WithTestResource(StorageWorkerTestResource.class)
class ChunkedVerificationTest extends StorageWorkerTestBase {

    @Test
    void intactChunkedBackupCompletesWithQuickVerification() {
        SnapshotCreated snapshot = uploadedSnapshot(200_000);

        publish(snapshot);

        ConsumerRecord<String, String> record = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        BackupCompleted completed = (BackupCompleted) EventCodec.decode(record.headers(), record.value()).data();
        assertThat(completed.verification()).isEqualTo("QUICK_OK");
        assertThat(completed.repository()).isEqualTo(snapshot.repository());
        assertThat(completed.objectKey()).isEqualTo(snapshot.objectKey());
        assertThat(completed.manifestKey()).isEqualTo(snapshot.objectKey());
        assertThat(completed.sizeBytes()).isEqualTo(snapshot.sizeBytes());
        assertThat(completed.rawBytes()).isEqualTo(snapshot.rawBytes());
        assertThat(completed.sha256()).isEqualTo(snapshot.sha256());
        assertThat(store.list(BUCKET, REPOSITORY_PREFIX + "/").stream().filter(k -> k.contains(snapshot.backupId())))
                .as("no separate manifest.json for chunked backups: the repository manifest is the only object")
                .containsExactly(snapshot.objectKey());
    }

    @Test
    void deletedChunkFailsQuickVerificationNamingTheChunk() {
        SnapshotCreated snapshot = uploadedSnapshot(100_000);
        Manifest manifest = manifestOf(snapshot);
        Manifest.FileEntry data = manifest.files().stream().filter(f -> f.path().equals("4242.dat")).findFirst()
                .orElseThrow();
        String chunkId = data.chunks().getFirst().id();
        store.delete(BUCKET, chunkKey(snapshot, chunkId));

        publish(snapshot);

        ConsumerRecord<String, String> record = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_FAILED.ceType());
        BackupFailed failed = (BackupFailed) EventCodec.decode(record.headers(), record.value()).data();
        assertThat(failed.stage()).isEqualTo("VERIFY");
        assertThat(failed.reason()).contains("quick verification").contains("file 4242.dat")
                .contains("chunk " + chunkId).contains("missing");
    }

    @Test
    void tamperedManifestFailsBySha256() {
        SnapshotCreated snapshot = withSha(uploadedSnapshot(1_000), "0".repeat(64));

        publish(snapshot);

        ConsumerRecord<String, String> record = events.await(outcomeOf(snapshot.backupId()), WAIT);
        BackupFailed failed = (BackupFailed) EventCodec.decode(record.headers(), record.value()).data();
        assertThat(failed.stage()).isEqualTo("VERIFY");
        assertThat(failed.reason()).contains("manifest s3://" + BUCKET + "/" + snapshot.objectKey())
                .contains("SHA-256 differs");
    }

    @Test
    void fullVerifyOnDemandCatchesAFlippedBitAndNamesTheChunk() throws IOException {
        SnapshotCreated snapshot = sealed(150_000);

        JsonPath intact = given().auth().oauth2(Tokens.admin()).when().post("/api/v1/backups/{id}/verify", snapshot.backupId())
                .then().statusCode(200).body("ok", equalTo(true)).extract().jsonPath();
        assertThat(intact.getLong("chunksChecked")).isPositive();
        assertThat(intact.getLong("bytesChecked")).isPositive();
        assertThat(intact.getList("problems")).isEmpty();
        ConsumerRecord<String, String> passed = events.await(verifiedOf(snapshot.backupId()), WAIT);
        BackupVerified ok = (BackupVerified) EventCodec.decode(passed.headers(), passed.value()).data();
        assertThat(ok.ok()).isTrue();
        assertThat(ok.level()).isEqualTo("FULL");

        String chunkId = manifestOf(snapshot).files().stream().filter(f -> f.path().equals("4242.dat"))
                .findFirst().orElseThrow().chunks().getFirst().id();
        String key = chunkKey(snapshot, chunkId);
        byte[] chunk = readObject(key);
        chunk[chunk.length / 2] ^= 0x01;
        store.put(BUCKET, key, chunk);

        JsonPath report = given().auth().oauth2(Tokens.admin()).when().post("/api/v1/backups/{id}/verify", snapshot.backupId())
                .then().statusCode(200).body("ok", equalTo(false)).extract().jsonPath();
        assertThat(report.getList("problems.chunkId", String.class)).containsExactly(chunkId);
        assertThat(report.getList("problems.file", String.class)).containsExactly("4242.dat");
        assertThat(report.getLong("durationMs")).isNotNegative();

        ConsumerRecord<String, String> failedRecord = events.awaitCount(verifiedOf(snapshot.backupId()), 2, WAIT)
                .get(1);
        assertThat(failedRecord.key()).isEqualTo(SOURCE);
        BackupVerified failed = (BackupVerified) EventCodec.decode(failedRecord.headers(), failedRecord.value()).data();
        assertThat(failed.ok()).isFalse();
        assertThat(failed.level()).isEqualTo("FULL");
        assertThat(failed.problems()).singleElement().asString().contains(chunkId).contains("4242.dat");
    }

    @Test
    void verifyOfAnUnknownOrUnsealedBackupIs404ProblemJson() {
        given().auth().oauth2(Tokens.admin()).when().post("/api/v1/backups/{id}/verify", UUID.randomUUID().toString())
                .then().statusCode(404).contentType(containsString("application/problem+json"))
                .body("detail", containsString("sealed backup"));
        given().auth().oauth2(Tokens.admin()).when().post("/api/v1/backups/{id}/verify", "not-a-uuid").then().statusCode(400).contentType(containsString("application/problem+json"));

        SnapshotCreated failed = withSha(uploadedSnapshot(1_000), "1".repeat(64));
        publish(failed);
        events.await(outcomeOf(failed.backupId()), WAIT);
        given().auth().oauth2(Tokens.admin()).when().post("/api/v1/backups/{id}/verify", failed.backupId()).then().statusCode(404);
    }

    private SnapshotCreated sealed(int size) {
        SnapshotCreated snapshot = uploadedSnapshot(size);
        publish(snapshot);
        assertThat(header(events.await(outcomeOf(snapshot.backupId()), WAIT), EventCodec.H_TYPE))
                .isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        return snapshot;
    }

    private static Predicate<ConsumerRecord<String, String>> verifiedOf(String backupId) {
        return r -> EventType.BACKUP_VERIFIED.ceType().equals(header(r, EventCodec.H_TYPE))
                && r.value() != null && r.value().contains("\"backupId\":\"" + backupId + "\"");
    }
}
