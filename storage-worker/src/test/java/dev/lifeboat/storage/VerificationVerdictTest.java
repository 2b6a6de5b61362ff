package dev.lifeboat.storage;

import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.recovery.PrepareRestore;
import dev.lifeboat.storage.service.ExpiryGuard;
import dev.lifeboat.storage.service.RestorePreparation;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * One verdict per backup: a full verification's result is what restore selection and the expiry check read, and a
 * store that cannot be read now is "unreadable now", never "corrupt".
 */
@QuarkusTest
@WithTestResource(StorageWorkerTestResource.class)
class VerificationVerdictTest extends StorageWorkerTestBase {
    @Inject
    RestorePreparation preparation;
    @Inject
    ExpiryGuard guard;

    @Test
    void aBackupThatFailedFullVerificationIsNeitherRestoredNorKeptAndTheVerifiedOneSurvives() throws IOException {
        String source = "verdict-" + UUID.randomUUID().toString().substring(0, 8);
        String policy = FakeScheduler.policy(source, 1, 0, 0);
        SnapshotCreated good = sealed(source, policy);
        SnapshotCreated newest = sealed(source, policy);
        assertThat(fullVerify(good).getString("outcome")).isEqualTo(BackupVerified.PASSED);

        String chunkId = manifestOf(newest).files().stream().filter(f -> f.path().equals("4242.dat"))
                .findFirst().orElseThrow().chunks().getFirst().id();
        String key = chunkKey(newest, chunkId);
        byte[] chunk = readObject(key);
        chunk[chunk.length / 2] ^= 0x20;
        store.put(BUCKET, key, chunk);
        JsonPath report = fullVerify(newest);
        assertThat(report.getBoolean("ok")).isFalse();
        assertThat(report.getString("outcome")).isEqualTo(BackupVerified.CORRUPT);
        BackupVerified verdict = verifiedEvent(newest.backupId(), BackupVerified.CORRUPT);
        assertThat(verdict.problems()).singleElement().asString().contains(chunkId);

        // the latest restorable backup skips the corrupt newest one, and naming it is refused with the reason
        assertThat(preparation.prepare(new PrepareRestore("c-" + UUID.randomUUID(), "r", 0, source, null, 3600L)))
                .isInstanceOfSatisfying(RestorePreparation.Chosen.class,
                        c -> assertThat(c.backup().backupId()).isEqualTo(good.backupId()));
        assertThat(preparation.prepare(new PrepareRestore("c-" + UUID.randomUUID(), "r", 0, source,
                newest.backupId(), null)))
                .isInstanceOfSatisfying(RestorePreparation.Refused.class, r -> assertThat(r.reason())
                        .contains("failed its latest FULL verification").contains(chunkId));

        // retention with one daily slot: the corrupt newest takes no slot, the verified one is never expired
        Map<String, ExpiryGuard.Verdict> expiry = guard.check(new BackupsExpired(policy, source,
                List.of(newest.backupId(), good.backupId()), "test", Instant.now()));
        assertThat(expiry.get(newest.backupId()).allowed()).as(String.valueOf(expiry.get(newest.backupId())))
                .isTrue();
        assertThat(expiry.get(good.backupId()).refusal()).isEqualTo(ExpiryGuard.Refusal.KEPT_BY_RETENTION);
        assertThat(expiry.get(good.backupId()).reason()).contains("newest_verified");
    }

    @Test
    void anObjectStoreThatIsDownGivesUnreadableNowAndTheVerdictBeforeStands() throws Exception {
        String source = "verdict-" + UUID.randomUUID().toString().substring(0, 8);
        SnapshotCreated backup = sealed(source, null);
        assertThat(fullVerify(backup).getString("outcome")).isEqualTo(BackupVerified.PASSED);

        JsonPath report;
        stack("down", "s3");
        try {
            report = fullVerify(backup);
        } finally {
            stack("up", "s3");
        }
        assertThat(report.getBoolean("ok")).isFalse();
        assertThat(report.getString("outcome")).isEqualTo(BackupVerified.UNREADABLE);
        assertThat(report.getString("problems[0].what")).contains("unreadable now");
        BackupVerified verdict = verifiedEvent(backup.backupId(), BackupVerified.UNREADABLE);
        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.conclusive()).isFalse();

        // still restorable: an outage is not a verdict on the bytes
        assertThat(preparation.prepare(new PrepareRestore("c-" + UUID.randomUUID(), "r", 0, source,
                backup.backupId(), null))).isInstanceOf(RestorePreparation.Chosen.class);
        assertThat(preparation.prepare(new PrepareRestore("c-" + UUID.randomUUID(), "r", 0, source, null, null)))
                .isInstanceOfSatisfying(RestorePreparation.Chosen.class,
                        c -> assertThat(c.backup().backupId()).isEqualTo(backup.backupId()));
    }

    private SnapshotCreated sealed(String source, String policy) {
        SnapshotCreated snapshot = uploadedSnapshot(60_000, source, policy);
        publish(snapshot);
        assertThat(header(events.await(outcomeOf(snapshot.backupId()), WAIT), EventCodec.H_TYPE))
                .isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        return snapshot;
    }

    private static JsonPath fullVerify(SnapshotCreated backup) {
        return given().auth().oauth2(Tokens.admin()).when().post("/api/v1/backups/{id}/verify", backup.backupId())
                .then().statusCode(200).extract().jsonPath();
    }

    private BackupVerified verifiedEvent(String backupId, String outcome) {
        Predicate<ConsumerRecord<String, String>> match = r ->
                EventType.BACKUP_VERIFIED.ceType().equals(header(r, EventCodec.H_TYPE)) && r.value() != null
                        && r.value().contains("\"backupId\":\"" + backupId + "\"")
                        && r.value().contains("\"outcome\":\"" + outcome + "\"");
        ConsumerRecord<String, String> record = events.await(match, WAIT);
        return (BackupVerified) EventCodec.decode(record.headers(), record.value()).data();
    }

    /** Stops or starts one of the test servers with the stack script that runs them (same work dir and ports). */
    private static void stack(String action, String server) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", LocalStack.ensureStarted().repoRoot().resolve("deploy/local/stack.sh")
                .toString(), action, server).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("stack.sh " + action + " " + server).isTrue();
        assertThat(p.exitValue()).as("stack.sh " + action + " " + server + ": " + out).isZero();
    }
}
