package dev.lifeboat.catalog;

import dev.lifeboat.contracts.PhysicalBackupInfo;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;

/** A physical base backup's method and WAL position, from SnapshotCreated on the real topic to the HTTP API. */
@QuarkusTest
@WithTestResource(CatalogTestResource.class)
class PhysicalBackupViewTest {
    static final Duration WAIT = Duration.ofSeconds(90);
    static TestKafka kafka;

    @BeforeAll
    static void connect() {
        kafka = new TestKafka();
    }

    @AfterAll
    static void disconnect() {
        kafka.close();
    }

    @Test
    void physicalBackupShowsItsWalPositionAndALogicalOneShowsNone() {
        TestBackups physical = TestBackups.full();
        TestBackups logical = TestBackups.full();
        Instant start = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        kafka.publish(physical.sourceId(), physical.snapshotCreated(start).withMethod(SnapshotCreated.PHYSICAL,
                new PhysicalBackupInfo("7440891358716117040", "15", 1, "0/3000028", "0/3000100",
                        "000000010000000000000003", start, start.plusSeconds(4))));
        kafka.publish(logical.sourceId(), logical.snapshotCreated(start));

        await().atMost(WAIT).untilAsserted(() -> given().auth().oauth2(Tokens.admin())
                .get("/api/v1/backups/{id}", physical.backupId()).then().statusCode(200)
                .body("method", equalTo("physical"))
                .body("physical.systemIdentifier", equalTo("7440891358716117040"))
                .body("physical.pgVersion", equalTo("15"))
                .body("physical.timeline", equalTo(1))
                .body("physical.startLsn", equalTo("0/3000028"))
                .body("physical.stopLsn", equalTo("0/3000100"))
                .body("physical.startWalSegment", equalTo("000000010000000000000003"))
                .body("physical.stopTime", notNullValue()));
        await().atMost(WAIT).untilAsserted(() -> given().auth().oauth2(Tokens.viewer())
                .get("/api/v1/backups/{id}", logical.backupId()).then().statusCode(200)
                .body("status", equalTo("SNAPSHOT_CREATED"))
                .body("method", nullValue())
                .body("physical", nullValue()));
    }
}
