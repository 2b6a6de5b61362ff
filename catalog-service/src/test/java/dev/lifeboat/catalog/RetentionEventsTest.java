package dev.lifeboat.catalog;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.BackupDeleted;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.ExpiryRevoked;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

import static dev.lifeboat.catalog.BackupLifecycleTest.WAIT;
import static dev.lifeboat.catalog.BackupLifecycleTest.awaitBackup;
import static dev.lifeboat.catalog.BackupLifecycleTest.backup;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.hasItem;

/** Retention on the real Kafka topic: BackupsExpired goes into each backup's history, BackupDeleted is final. */
@QuarkusTest
@WithTestResource(CatalogTestResource.class)
class RetentionEventsTest {
    static TestKafka kafka;

    @BeforeAll
    static void connect() {
        kafka = new TestKafka();
    }

    @AfterAll
    static void disconnect() {
        kafka.close();
    }

    /** BackupCompleted as storage-worker emits it: deterministic id, at the backup's completion time. */
    private static void completed(TestBackups b, Instant startedAt) {
        kafka.publish(Ids.eventId(b.backupId(), EventType.BACKUP_COMPLETED), startedAt.plusSeconds(7), b.sourceId(),
                b.completed(startedAt));
    }

    @Test
    void expiredThenDeletedBackupIsDeletedAndLatestRestorableSkipsIt() {
        String source = TestBackups.newSource();
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        TestBackups older = TestBackups.full().ofSource(source);
        TestBackups newer = TestBackups.of(BackupType.INCREMENTAL).ofSource(source);
        TestBackups other = TestBackups.full().ofSource(source);
        completed(older, now.minusSeconds(7200));
        completed(other, now.minusSeconds(3600));
        completed(newer, now.minusSeconds(600));
        awaitBackup(newer.backupId(), "COMPLETED");

        BackupsExpired expiry = new BackupsExpired("nightly", source, List.of(newer.backupId(), other.backupId()),
                "GFS keep 1 daily", now);
        String expiryId = Ids.expiryEventId("nightly", expiry.backupIds());
        kafka.publish(expiryId, now, "nightly", expiry);
        // the same decision re-sent: recorded once per backup all the same
        kafka.publish(expiryId, now, "nightly", expiry);
        for (TestBackups b : List.of(newer, other)) {
            await().atMost(WAIT).untilAsserted(() -> backup(b.backupId()).statusCode(200)
                    .body("events.type", hasItem(EventType.BACKUPS_EXPIRED.ceType())));
            backup(b.backupId()).body("status", equalTo("COMPLETED"))
                    .body("expiredAt", equalTo(now.toString()))
                    .body("events.id", contains(Ids.eventId(b.backupId(), EventType.BACKUP_COMPLETED), expiryId))
                    .body("events[1].data.backupIds", contains(newer.backupId(), other.backupId()))
                    .body("events[1].data.reason", equalTo("GFS keep 1 daily"));
        }

        String deletedId = Ids.eventId(newer.backupId(), EventType.BACKUP_DELETED);
        BackupDeleted deleted = new BackupDeleted(newer.backupId(), source, "nightly",
                List.of("s3://lifeboat-backups/" + newer.manifestKey(), "s3://lifeboat-backups/" + newer.objectKey()),
                now.plusSeconds(1));
        kafka.publish(deletedId, now.plusSeconds(1), source, deleted);
        // a late or re-sent BackupCompleted must not make the deleted backup restorable again
        completed(newer, now.minusSeconds(600));
        kafka.publish(java.util.UUID.randomUUID().toString(), now.plusSeconds(3), source,
                newer.completed(now.minusSeconds(600)));

        awaitBackup(newer.backupId(), "DELETED")
                .body("deletedAt", equalTo(now.plusSeconds(1).toString()))
                .body("completedAt", equalTo(now.minusSeconds(600).plusSeconds(7).toString()))
                .body("location.manifestKey", equalTo(newer.manifestKey()))
                .body("events.type", hasItem(EventType.BACKUP_DELETED.ceType()));
        await().atMost(WAIT).untilAsserted(() -> backup(newer.backupId())
                .body("events.type", contains(EventType.BACKUP_COMPLETED.ceType(), EventType.BACKUPS_EXPIRED.ceType(),
                        EventType.BACKUP_DELETED.ceType(), EventType.BACKUP_COMPLETED.ceType()))
                .body("status", equalTo("DELETED")));

        given().auth().oauth2(Tokens.admin()).when().get("/api/v1/sources/{id}/latest-restorable", source)
                .then().statusCode(200)
                .body("backupId", equalTo(other.backupId()))
                .body("status", equalTo("COMPLETED"));
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("status", "DELETED")
                .when().get("/api/v1/backups").then().statusCode(200)
                .body("items.backupId", contains(newer.backupId()));
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source)
                .when().get("/api/v1/backups").then().statusCode(200)
                .body("items", hasSize(3));
    }

    @Test
    void aRevokedExpiryClearsExpiredAtAndALaterExpiryComesBack() {
        String source = TestBackups.newSource();
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        TestBackups b = TestBackups.full().ofSource(source);
        completed(b, now.minusSeconds(600));
        awaitBackup(b.backupId(), "COMPLETED");
        BackupsExpired expiry = new BackupsExpired("nightly", source, List.of(b.backupId()), "GFS keep 1 daily", now);
        kafka.publish(Ids.expiryEventId("nightly", expiry.backupIds()), now, "nightly", expiry);
        await().atMost(WAIT).untilAsserted(() -> backup(b.backupId()).body("expiredAt", equalTo(now.toString())));

        ExpiryRevoked revoked = new ExpiryRevoked("nightly", source, List.of(b.backupId()),
                "policy nightly keeps it (NEWEST_VERIFIED)", now.plusSeconds(2));
        kafka.publish(java.util.UUID.randomUUID().toString(), now.plusSeconds(2), "nightly", revoked);
        await().atMost(WAIT).untilAsserted(() -> backup(b.backupId())
                .body("events.type", hasItem(EventType.EXPIRY_REVOKED.ceType()))
                .body("expiredAt", nullValue())
                .body("status", equalTo("COMPLETED")));

        BackupsExpired later = new BackupsExpired("nightly", source, List.of(b.backupId()), "GFS keep 1 daily",
                now.plusSeconds(60));
        kafka.publish(java.util.UUID.randomUUID().toString(), now.plusSeconds(60), "nightly", later);
        await().atMost(WAIT).untilAsserted(() -> backup(b.backupId())
                .body("expiredAt", equalTo(now.plusSeconds(60).toString())));
    }
}
