package dev.lifeboat.storage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import jakarta.inject.Inject;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.contracts.recovery.BackupLocation;
import dev.lifeboat.contracts.recovery.PrepareRestore;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.RecoveryTarget;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.contracts.recovery.VerifyBackup;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.recovery.StepReplies;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.wal.WalNames;
import dev.lifeboat.storage.config.StorageConfig;
import dev.lifeboat.storage.messaging.StepReplyPublisher;
import dev.lifeboat.testsupport.CoordinatorStandIn;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.restassured.path.json.JsonPath;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.arc.ClientProxy;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusMock;
import io.quarkus.test.junit.QuarkusTest;

/** PrepareRestore and VerifyBackup on the real commands topic, answered on the real replies topic. */
@QuarkusTest
@WithTestResource(RecoveryCommandsTestResource.class)
class RecoveryCommandsTest extends StorageWorkerTestBase {
    /** lifeboat.repository.max-manifest-bytes of this test's storage-worker ({@link RecoveryCommandsTestResource}). */
    static final long MANIFEST_CAP = 1L << 20;
    TopicTail replies;
    @Inject
    StepReplyPublisher replyPublisher;
    @Inject
    StorageConfig config;
    @Inject
    MeterRegistry registry;

    @BeforeEach
    void repliesTail() {
        replies = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.STORAGE_WORKER_REPLIES);
    }

    @AfterEach
    void closeReplies() {
        replies.close();
    }

    @Test
    void prepareRestoreByIdAnswersWhereTheBackupLives() {
        String source = "src-" + UUID.randomUUID();
        SnapshotCreated snapshot = sealed(source, 120_000);
        String runId = UUID.randomUUID().toString();
        PrepareRestore prepare = new PrepareRestore(RecoveryCommand.commandId(runId, 0, "prepare"), runId, 0, source,
                snapshot.backupId(), 3600L);

        send(EventType.PREPARE_RESTORE, prepare);
        StepReply reply = awaitReply(prepare.commandId());

        assertThat(reply.outcome()).as(reply.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(reply.participant()).startsWith("storage-worker/");
        BackupLocation location = locationOf(reply);
        assertThat(location.backupId()).isEqualTo(snapshot.backupId());
        assertThat(location.sourceId()).isEqualTo(source);
        assertThat(location.bucket()).isEqualTo(BUCKET);
        assertThat(location.repositoryPrefix()).isEqualTo(REPOSITORY_ROOT + "/" + source);
        assertThat(location.chainId()).isEqualTo(snapshot.repository().chainId());
        assertThat(location.manifestKey()).isEqualTo(snapshot.objectKey());
        assertThat(((Number) reply.result().get("backupAgeSeconds")).longValue()).isBetween(0L, 60L);
    }

    @Test
    void aPrepareRestoreDeliveredAfterItsDeadlineIsRefusedSayingByHowMuch() {
        String source = "src-" + UUID.randomUUID();
        SnapshotCreated snapshot = sealed(source, 50_000);
        String runId = UUID.randomUUID().toString();
        java.time.Instant deadline = java.time.Instant.now().minusSeconds(30);
        PrepareRestore late = new PrepareRestore(RecoveryCommand.commandId(runId, 0, "prepare"), runId, 0, source,
                snapshot.backupId(), null, deadline);

        send(EventType.PREPARE_RESTORE, late);
        StepReply reply = awaitReply(late.commandId());

        assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(reply.message()).contains("PREPARE_RESTORE " + late.commandId())
                .contains("storage-worker/").contains("after its deadline " + deadline).contains("late by PT3")
                .contains("not started");
        assertThat(reply.result()).containsEntry("late", true).doesNotContainKey("backup");
    }

    @Test
    void prepareRestoreOfLatestSkipsABackupWhoseChunksAreGoneAndUnknownIdsFail() {
        String source = "src-" + UUID.randomUUID();
        SnapshotCreated older = sealed(source, 80_000);
        SnapshotCreated newest = sealed(source, 80_000);
        String runId = UUID.randomUUID().toString();
        PrepareRestore latest = new PrepareRestore(RecoveryCommand.commandId(runId, 0, "prepare"), runId, 0, source,
                null, null);
        send(EventType.PREPARE_RESTORE, latest);
        assertThat(locationOf(awaitReply(latest.commandId())).backupId()).isEqualTo(newest.backupId());

        String chunkId = manifestOf(newest).files().getFirst().chunks().getFirst().id();
        store.delete(BUCKET, chunkKey(newest, chunkId));
        String run2 = UUID.randomUUID().toString();
        PrepareRestore again = new PrepareRestore(RecoveryCommand.commandId(run2, 0, "prepare"), run2, 0, source,
                null, null);
        PrepareRestore unknown = new PrepareRestore(RecoveryCommand.commandId(run2, 1, "prepare"), run2, 1, source,
                UUID.randomUUID().toString(), null);
        send(EventType.PREPARE_RESTORE, again);
        send(EventType.PREPARE_RESTORE, unknown);

        assertThat(locationOf(awaitReply(again.commandId())).backupId()).isEqualTo(older.backupId());
        StepReply none = awaitReply(unknown.commandId());
        assertThat(none.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(none.message()).contains(unknown.backupId()).contains("unknown");
    }

    @Test
    void prepareRestoreFailsWhenTheNewestBackupIsOlderThanTheRpoAndSaysHowOld() throws InterruptedException {
        String source = "src-" + UUID.randomUUID();
        SnapshotCreated snapshot = sealed(source, 50_000);
        Thread.sleep(1500);
        String runId = UUID.randomUUID().toString();
        PrepareRestore prepare = new PrepareRestore(RecoveryCommand.commandId(runId, 0, "prepare"), runId, 0, source,
                null, 1L);

        send(EventType.PREPARE_RESTORE, prepare);
        StepReply reply = awaitReply(prepare.commandId());

        assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(reply.message()).contains(snapshot.backupId()).containsPattern("is \\d+\\.\\d s old")
                .contains("allowed 1 s (RPO)");
    }

    @Test
    void aTimeOrLsnTargetRestoresFromTheNewestBaseBackupConsistentByItAndRefusesOneEndingAfterIt() {
        String source = "src-" + UUID.randomUUID();
        Instant firstEnd = Instant.now().minusSeconds(120);
        Instant secondEnd = Instant.now().minusSeconds(30);
        SnapshotCreated first = ExpiredBackupDeletionTest.sealedAs(this, uploadedPhysicalSnapshot(source, null,
                physical("0/2000028", "0/2000100", firstEnd)));
        SnapshotCreated second = ExpiredBackupDeletionTest.sealedAs(this, uploadedPhysicalSnapshot(source, null,
                physical("0/5000028", "0/5000100", secondEnd)));
        String runId = UUID.randomUUID().toString();
        // markers committed between the two base backups: a target among them replays from the first
        PrepareRestore between = prepare(runId, 0, source, null, RecoveryTarget.time(secondEnd.minusSeconds(10)));
        PrepareRestore afterBoth = prepare(runId, 1, source, null, RecoveryTarget.time(secondEnd.plusSeconds(1)));
        PrepareRestore byLsn = prepare(runId, 2, source, null, new RecoveryTarget(RecoveryTarget.Kind.LSN, "0/4000000"));
        PrepareRestore beforeAll = prepare(runId, 3, source, null, RecoveryTarget.time(firstEnd.minusSeconds(1)));
        PrepareRestore namedTooNew = prepare(runId, 4, source, second.backupId(),
                RecoveryTarget.time(secondEnd.minusSeconds(10)));
        for (PrepareRestore p : List.of(between, afterBoth, byLsn, beforeAll, namedTooNew)) {
            send(EventType.PREPARE_RESTORE, p);
        }

        assertThat(locationOf(awaitReply(between.commandId())).backupId()).isEqualTo(first.backupId());
        assertThat(locationOf(awaitReply(afterBoth.commandId())).backupId()).isEqualTo(second.backupId());
        assertThat(locationOf(awaitReply(byLsn.commandId())).backupId()).isEqualTo(first.backupId());
        StepReply none = awaitReply(beforeAll.commandId());
        assertThat(none.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(none.message()).contains("no base backup of source " + source + " is consistent by time "
                + firstEnd.minusSeconds(1)).contains("earliest recoverable point is " + firstEnd + " (LSN 0/2000100");
        StepReply refused = awaitReply(namedTooNew.commandId());
        assertThat(refused.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(refused.message()).contains("backup " + second.backupId() + " is consistent only from " + secondEnd)
                .contains("after the recovery target time " + secondEnd.minusSeconds(10));
    }

    private static PrepareRestore prepare(String runId, int step, String source, String backupId,
                                          RecoveryTarget target) {
        return new PrepareRestore(RecoveryCommand.commandId(runId, step, "prepare"), runId, step, source, backupId,
                null, null, target);
    }

    private static Manifest.Physical physical(String startLsn, String stopLsn, Instant stopTime) {
        String segment = WalNames.segmentOf(1, WalNames.parseLsn(startLsn), WalNames.DEFAULT_SEGMENT_SIZE);
        return new Manifest.Physical("7312345678901234567", "15", "15.14", 1, startLsn, stopLsn, segment,
                stopTime.minusSeconds(5), stopTime);
    }

    @Test
    void verifyBackupPassesThenFailsNamingAFlippedChunkAndARepeatedCommandIsNotRerun() throws IOException {
        String source = "src-" + UUID.randomUUID();
        SnapshotCreated snapshot = sealed(source, 150_000);
        String runId = UUID.randomUUID().toString();
        BackupLocation location = locationOf(prepared(runId, source, snapshot.backupId()));
        VerifyBackup verify = new VerifyBackup(RecoveryCommand.commandId(runId, 1, "verify-backup"), runId, 1, location);

        send(EventType.VERIFY_BACKUP, verify);
        StepReply ok = awaitReply(verify.commandId());
        assertThat(ok.outcome()).as(ok.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        assertThat(ok.result()).containsEntry("ok", true).containsEntry("problems", List.of());
        assertThat(((Number) ok.result().get("chunks")).longValue()).isPositive();

        String chunkId = manifestOf(snapshot).files().stream().filter(f -> f.path().equals("4242.dat"))
                .findFirst().orElseThrow().chunks().getFirst().id();
        String key = chunkKey(snapshot, chunkId);
        byte[] chunk = readObject(key);
        chunk[chunk.length / 2] ^= 0x01;
        store.put(BUCKET, key, chunk);

        // the same command again: the stored reply, not a new verification
        send(EventType.VERIFY_BACKUP, verify);
        assertThat(StepReplies.fromJson(replies.awaitCount(isReplyTo(verify.commandId()), 2, WAIT).get(1).value()))
                .isEqualTo(ok);

        String run2 = UUID.randomUUID().toString();
        VerifyBackup verifyAgain = new VerifyBackup(RecoveryCommand.commandId(run2, 1, "verify-backup"), run2, 1,
                location);
        send(EventType.VERIFY_BACKUP, verifyAgain);
        StepReply bad = awaitReply(verifyAgain.commandId());
        assertThat(bad.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(bad.message()).contains(chunkId).contains("4242.dat");
        assertThat(bad.result()).containsEntry("ok", false);
        assertThat((List<?>) bad.result().get("problems")).singleElement().asString().contains(chunkId);

        // a backup that failed verification is not offered for restore any more
        StepReply refused = prepared(UUID.randomUUID().toString(), source, snapshot.backupId());
        assertThat(refused.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(refused.message()).contains("failed its latest FULL verification");
    }

    @Test
    void aManifestReplacedInTheBucketByAnOlderOneOfTheSameSourceIsRefusedByPrepareRestoreAndVerifyBackup()
            throws IOException {
        String source = "src-" + UUID.randomUUID();
        SnapshotCreated older = sealed(source, 60_000);
        SnapshotCreated newest = sealed(source, 60_000);
        BackupLocation location = locationOf(prepared(UUID.randomUUID().toString(), source, newest.backupId()));
        assertThat(location.manifestSha256()).isEqualTo(newest.sha256());

        // someone who can write to the bucket, without any key, puts the older manifest where the newest one is
        store.put(BUCKET, newest.objectKey(), readObject(older.objectKey()));

        StepReply byId = prepared(UUID.randomUUID().toString(), source, newest.backupId());
        assertThat(byId.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(byId.message()).contains(newest.backupId()).contains(newest.objectKey())
                .contains("is not the one sealed").contains("sealed " + newest.sha256()).contains(older.sha256());

        String runId = UUID.randomUUID().toString();
        VerifyBackup verify = new VerifyBackup(RecoveryCommand.commandId(runId, 1, "verify-backup"), runId, 1,
                location);
        send(EventType.VERIFY_BACKUP, verify);
        StepReply verified = awaitReply(verify.commandId());
        assertThat(verified.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(verified.message()).contains(newest.objectKey()).contains("is not the one sealed")
                .contains("sealed " + newest.sha256()).contains(older.sha256());
        // "latest" restores what is there and honest about its age, never the older data under the newest's name
        String run2 = UUID.randomUUID().toString();
        PrepareRestore latest = new PrepareRestore(RecoveryCommand.commandId(run2, 0, "prepare"), run2, 0, source,
                null, null);
        send(EventType.PREPARE_RESTORE, latest);
        assertThat(locationOf(awaitReply(latest.commandId())).backupId()).isEqualTo(older.backupId());
    }

    @Test
    void aManifestOverTheCapIsUnreadableNotCorruptAndItsBackupRestoresOnceItCanBeReadAgain() throws IOException {
        String source = "src-" + UUID.randomUUID();
        sealed(source, 40_000); // an older backup that "latest" could fall back to
        SnapshotCreated snapshot = sealed(source, 40_000);
        byte[] sealedManifest = readObject(snapshot.objectKey());
        // the size a large source's manifest has; its content is never read, the announced length refuses it
        long size = MANIFEST_CAP + 1;
        try (var writer = store.create(BUCKET, snapshot.objectKey())) {
            byte[] zeros = new byte[1 << 16];
            for (long left = size; left > 0; left -= zeros.length) {
                writer.write(zeros, 0, (int) Math.min(left, zeros.length));
            }
            writer.commit();
        }
        try {
            StepReply byId = prepared(UUID.randomUUID().toString(), source, snapshot.backupId());
            assertThat(byId.outcome()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(byId.message()).contains("manifest s3://" + BUCKET + "/" + snapshot.objectKey() + " is " + size
                    + " bytes, over the " + MANIFEST_CAP + " bytes").contains("lifeboat.repository.max-manifest-bytes")
                    .contains("No backup was marked as failing verification");
            // "latest" does not quietly restore the older backup in place of the one it cannot read
            String runId = UUID.randomUUID().toString();
            PrepareRestore latest = new PrepareRestore(RecoveryCommand.commandId(runId, 0, "prepare"), runId, 0,
                    source, null, null);
            send(EventType.PREPARE_RESTORE, latest);
            StepReply refused = awaitReply(latest.commandId());
            assertThat(refused.outcome()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(refused.message()).contains(snapshot.objectKey()).contains("over the " + MANIFEST_CAP);

            JsonPath report = given().auth().oauth2(Tokens.admin()).when()
                    .post("/api/v1/backups/{id}/verify", snapshot.backupId()).then().statusCode(200).extract()
                    .jsonPath();
            assertThat(report.getString("outcome")).isEqualTo("UNREADABLE");
            assertThat(report.getString("problems[0].what")).contains("over the " + MANIFEST_CAP + " bytes")
                    .contains("lifeboat.repository.max-manifest-bytes");
        } finally {
            store.put(BUCKET, snapshot.objectKey(), sealedManifest);
        }
        // no verdict was recorded against it: readable again (as with a raised cap), it is the one restored
        StepReply again = prepared(UUID.randomUUID().toString(), source, snapshot.backupId());
        assertThat(locationOf(again).backupId()).isEqualTo(snapshot.backupId());
        assertThat(events.seen(r -> EventType.BACKUP_VERIFIED.ceType().equals(header(r, EventCodec.H_TYPE))
                && r.value() != null && r.value().contains("\"backupId\":\"" + snapshot.backupId() + "\"")
                && r.value().contains("CORRUPT"))).isEmpty();
    }

    @Test
    void aPrepareRestoreTheCoordinatorNeverSentIsDeadLetteredUnansweredAndTheGenuineOneIsAnswered() {
        // whoever holds the coordinator's Kafka credentials asks where a source's latest backup is
        String runId = UUID.randomUUID().toString();
        String source = "src-forged-" + runId.substring(0, 8);
        SnapshotCreated snapshot = sealed(source, 300_000);
        PrepareRestore forged = new PrepareRestore(RecoveryCommand.commandId(runId, 0, "prepare"), runId, 0, source,
                null, null);
        sendRaw(EventType.PREPARE_RESTORE, runId, EventCodec.encodeData(forged));
        PrepareRestore genuine = new PrepareRestore(RecoveryCommand.commandId(runId, 1, "prepare"), runId, 1, source,
                null, null);
        send(EventType.PREPARE_RESTORE, genuine);

        ConsumerRecord<String, String> dead = deadLetters.await(r -> runId.equals(r.key()), WAIT);
        assertThat(header(dead, "dead-letter-reason")).contains("sent no command " + forged.commandId())
                .contains("nothing was done");
        assertThat(locationOf(awaitReply(genuine.commandId())).backupId()).isEqualTo(snapshot.backupId());
        assertThat(replies.seen(isReplyTo(forged.commandId()))).as("the forged command is never answered").isEmpty();
    }

    @Test
    void commandsOfOtherParticipantsAreIgnoredAndInvalidOnesDeadLettered() {
        String runId = UUID.randomUUID().toString();
        send(EventType.DROP_DATABASE, new dev.lifeboat.contracts.recovery.DropDatabase(
                RecoveryCommand.commandId(runId, 0, "drop"), runId, 0,
                new dev.lifeboat.contracts.recovery.DatabaseTarget("127.0.0.1", 5432, "not_mine", "u", "env:NOT_MINE")));
        sendRaw(EventType.PREPARE_RESTORE, runId, "[1, 2");
        PrepareRestore prepare = new PrepareRestore(RecoveryCommand.commandId(runId, 1, "prepare"), runId, 1,
                "src-without-backups-" + runId, null, null);
        send(EventType.PREPARE_RESTORE, prepare);

        StepReply reply = awaitReply(prepare.commandId());
        assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
        assertThat(reply.message()).contains("no usable backup of source src-without-backups-" + runId);
        ConsumerRecord<String, String> dead = deadLetters.await(r -> runId.equals(r.key()), WAIT);
        assertThat(header(dead, "dead-letter-reason")).isNotBlank();
        assertThat(replies.seen(isReplyTo(RecoveryCommand.commandId(runId, 0, "drop")))).isEmpty();
    }

    @Test
    void aCommandWhoseReplyKafkaRefusesIsParkedWithTheReasonNotDeadLetteredAndItsReplayIsAnswered() {
        String runId = UUID.randomUUID().toString();
        PrepareRestore prepare = new PrepareRestore(RecoveryCommand.commandId(runId, 0, "prepare"), runId, 0,
                "src-without-backups-" + runId, null, null);
        StepReplyPublisher real = ClientProxy.unwrap(replyPublisher);
        double parkedBefore = parkedCommands();
        AtomicBoolean refused = new AtomicBoolean();
        // the replies topic refuses this service once, as a missing ACL would
        QuarkusMock.installMockForType(new StepReplyPublisher(null, config) {
            @Override
            public void send(StepReply reply, String json) {
                if (reply.commandId().equals(prepare.commandId()) && refused.compareAndSet(false, true)) {
                    throw new TopicAuthorizationException(Set.of(Topics.STORAGE_WORKER_REPLIES));
                }
                real.send(reply, json);
            }
        }, StepReplyPublisher.class);
        try (TopicTail parked = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN),
                Topics.PARKED)) {
            send(EventType.PREPARE_RESTORE, prepare);

            ConsumerRecord<String, String> record = parked.await(r -> runId.equals(r.key()), WAIT);
            assertThat(header(record, Parking.REASON)).contains(prepare.commandId())
                    .contains("Not authorized to access topics: [" + Topics.STORAGE_WORKER_REPLIES + "]");
            assertThat(header(record, Parking.ORIGIN_TOPIC)).isEqualTo(Topics.RECOVERY_COMMANDS);
            // counted once Kafka acknowledged the parked record, which the tail may see first
            await().atMost(WAIT).untilAsserted(() -> assertThat(parkedCommands()).isEqualTo(parkedBefore + 1));
            assertThat(replies.seen(isReplyTo(prepare.commandId()))).isEmpty();

            // replayed once the cause is fixed, as scheduler-service replays a parked record: the reply recorded in
            // the ledger goes out
            sendRaw(EventType.PREPARE_RESTORE, runId, record.value());
            StepReply reply = awaitReply(prepare.commandId());
            assertThat(reply.outcome()).isEqualTo(StepReply.Outcome.FAILED);
            assertThat(reply.message()).contains("no usable backup of source src-without-backups-" + runId);
            assertThat(deadLetters.seen(r -> runId.equals(r.key()))).isEmpty();
        }
    }

    // --- fixtures

    /** What the alert LifeboatRecordsParked watches, for records of the commands topic. */
    private double parkedCommands() {
        var counter = registry.find("lifeboat_records_parked_total").tag("topic", Topics.RECOVERY_COMMANDS).counter();
        return counter == null ? 0 : counter.count();
    }

    private SnapshotCreated sealed(String source, int size) {
        SnapshotCreated snapshot = uploadedSnapshot(size, source, null);
        publish(snapshot);
        assertThat(header(events.await(outcomeOf(snapshot.backupId()), WAIT), EventCodec.H_TYPE))
                .isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        return snapshot;
    }

    private StepReply prepared(String runId, String source, String backupId) {
        PrepareRestore prepare = new PrepareRestore(RecoveryCommand.commandId(runId, 0, "prepare"), runId, 0, source,
                backupId, null);
        send(EventType.PREPARE_RESTORE, prepare);
        return awaitReply(prepare.commandId());
    }

    private static BackupLocation locationOf(StepReply reply) {
        assertThat(reply.outcome()).as(reply.message()).isEqualTo(StepReply.Outcome.COMPLETED);
        return EventCodec.mapper().convertValue((Map<?, ?>) reply.result().get("backup"), BackupLocation.class);
    }

    /** {@code command} as recovery-coordinator sends it: recorded there (its stand-in) as awaited, then on Kafka. */
    private static void send(EventType type, RecoveryCommand command) {
        CoordinatorStandIn.get().issue(type.name(), command.commandId(), command.runId(), command.step(),
                EventCodec.encodeData(command));
        sendRaw(type, command.runId(), EventCodec.encodeData(command));
    }

    private static void sendRaw(EventType type, String runId, String json) {
        try (var coordinator = producerAs("recovery-coordinator")) {
            coordinator.send(new ProducerRecord<>(Topics.RECOVERY_COMMANDS, null, runId, json,
                    EventCodec.headers(type, "/test/recovery-coordinator", runId))).get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot send " + type, e);
        }
    }

    private StepReply awaitReply(String commandId) {
        return StepReplies.fromJson(replies.await(isReplyTo(commandId), WAIT).value());
    }

    private static Predicate<ConsumerRecord<String, String>> isReplyTo(String commandId) {
        return r -> EventType.STEP_REPLIED.ceType().equals(header(r, EventCodec.H_TYPE)) && r.value() != null
                && r.value().contains("\"commandId\":\"" + commandId + "\"");
    }
}
