package dev.lifeboat.storage;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.wal.WalArchive;
import dev.lifeboat.repository.wal.WalNames;
import dev.lifeboat.testsupport.Tokens;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * WAL retention in the worker's garbage collection (real Kafka, PostgreSQL, S3Proxy): the archived WAL of a physical
 * source is kept from the start segment of its oldest base backup left, across timelines, with history files; WAL
 * younger than {@code lifeboat.gc.wal-min-age} stays whatever its position; a repository without a base backup keeps
 * all of its WAL. Segments of 1 MiB (a cluster built with {@code --wal-segsize=1}) keep the objects small and show that
 * retention does not depend on the segment size.
 */
@QuarkusTest
@TestProfile(GarbageCollectionTest.NoGrace.class)
@WithTestResource(StorageWorkerTestResource.class)
class WalRetentionTest extends StorageWorkerTestBase {
    static final Duration MIN_AGE = Duration.ofSeconds(5);
    private static final int SEGMENT_SIZE = 1024 * 1024;

    private static String segment(int timeline, long number) {
        return WalNames.segmentName(timeline, number, SEGMENT_SIZE);
    }

    private static byte[] walBytes(String name) {
        byte[] content = new byte[SEGMENT_SIZE];
        byte[] label = name.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(label, 0, content, 0, label.length);
        return content;
    }

    private static Manifest.Physical startingAt(String segment) {
        long lsn = WalNames.startLsn(segment, SEGMENT_SIZE) + 0x28;
        Instant now = Instant.now();
        return new Manifest.Physical("7312345678901234567", "15", "15.14", WalNames.timeline(segment),
                WalNames.formatLsn(lsn), WalNames.formatLsn(lsn + 0x100), segment, now.minusSeconds(5), now);
    }

    /** Waits until every stored WAL file is older than the minimum age (S3 reports whole seconds). */
    private static void outlive(Duration minAge) throws InterruptedException {
        Thread.sleep(minAge.toMillis() + 1_100);
    }

    @Inject
    MeterRegistry registry;

    private double walSegmentsDeleted() {
        var counter = registry.find("lifeboat.wal.segments.deleted").counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void expiringTheOlderBaseBackupDeletesExactlyTheWalBeforeTheNewerOnesStartOnEveryTimeline() throws Exception {
        String source = "storage-test-physical-" + UUID.randomUUID().toString().substring(0, 8);
        String policy = FakeScheduler.policy(source, 0, 0, 0);
        Repository repository = repositories.openOrInit(BUCKET, REPOSITORY_ROOT + "/" + source);
        WalArchive wal = repository.wal(SEGMENT_SIZE);
        // timeline 1 up to segment 6, where a promotion switched to timeline 2; timeline 2 goes on to 9, 10 is partial
        List<String> timeline1 = new ArrayList<>();
        for (long n = 1; n <= 6; n++) {
            timeline1.add(segment(1, n));
        }
        List<String> timeline2 = new ArrayList<>();
        for (long n = 6; n <= 9; n++) {
            timeline2.add(segment(2, n));
        }
        for (String s : timeline1) {
            wal.put(s, walBytes(s));
        }
        for (String s : timeline2) {
            wal.put(s, walBytes(s));
        }
        wal.putPartial(segment(2, 10), walBytes(segment(2, 10)), 4096);
        // timeline 2 begins at 0/600000, the start of segment 6 with 1 MiB segments
        wal.put("00000002.history", "1\t0/600000\tno recovery target specified\n".getBytes(StandardCharsets.US_ASCII));
        String olderStart = segment(1, 2);
        String newerStart = segment(2, 7);
        String olderLabel = olderStart + ".00000028.backup";
        String newerLabel = newerStart + ".00000028.backup";
        wal.put(olderLabel, "START WAL LOCATION: 0/200028".getBytes(StandardCharsets.US_ASCII));
        wal.put(newerLabel, "START WAL LOCATION: 0/700028".getBytes(StandardCharsets.US_ASCII));

        SnapshotCreated older = uploadedPhysicalSnapshot(source, policy, startingAt(olderStart));
        ExpiredBackupDeletionTest.sealedAs(this, older);
        SnapshotCreated newer = uploadedPhysicalSnapshot(source, policy, startingAt(newerStart));
        ExpiredBackupDeletionTest.sealedAs(this, newer);
        outlive(MIN_AGE);
        double deletedBefore = walSegmentsDeleted();

        ExpiredBackupDeletionTest.publish(ExpiredBackupDeletionTest.expiryOf(policy, source, older.backupId()));
        events.await(ExpiredBackupDeletionTest.deletedOf(older.backupId()), WAIT);
        // the pass is queued with the deletion and runs off the consumer: wait for it to reach the last timeline
        List<String> expected = List.of(segment(2, 7), segment(2, 8), segment(2, 9));
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!wal.list().segments().equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }

        WalArchive.Listing left = wal.list();
        assertThat(left.segments()).as("WAL kept from the newer base backup's start").isEqualTo(expected);
        assertThat(left.partials()).containsExactly(segment(2, 10));
        assertThat(left.histories()).containsExactly("00000002.history");
        assertThat(store.size(BUCKET, REPOSITORY_ROOT + "/" + source + "/wal/" + olderLabel)).isEmpty();
        assertThat(wal.fetch(newerLabel)).isPresent();
        assertThat(walSegmentsDeleted() - deletedBefore).as("lifeboat_wal_segments_deleted_total")
                .isGreaterThanOrEqualTo(7);
        // what a restore from the newer backup replays is all there, up to the partial
        WalArchive.Continuity continuity = wal.continuity(newerStart);
        assertThat(continuity.unbroken()).isTrue();
        assertThat(continuity.lastContiguous()).contains(segment(2, 9));
        assertThat(continuity.partial()).contains(segment(2, 10));
        assertThat(wal.fetch(segment(2, 7)).orElseThrow()).isEqualTo(walBytes(segment(2, 7)));

        // written just now (an archiver sending an old segment again): before the newer start, but too young to go.
        // The first request of a test JVM is slow (client set-up, token): made before, it does not age the segment
        assertThat(gcOf(source).getLong("walSegmentsDeleted")).isZero();
        String young = segment(1, 5);
        wal.put(young, walBytes(young));
        JsonPath answer = gcOf(source);
        assertThat(answer.getList("failures")).isEmpty();
        assertThat(answer.getInt("wal[0].keptYoung")).isEqualTo(1);
        assertThat(answer.getLong("walSegmentsDeleted")).isZero();
        assertThat(wal.list().segments()).contains(young);

        // once old enough it goes with the next pass; the answer says what retention did
        outlive(MIN_AGE);
        answer = gcOf(source);
        assertThat(answer.getList("failures")).isEmpty();
        assertThat(answer.getString("wal[0].keptFrom")).isEqualTo(newerStart);
        assertThat(answer.getString("wal[0].oldestBaseBackup")).isEqualTo(newer.backupId());
        assertThat(answer.getInt("wal[0].segmentsDeleted")).isEqualTo(1);
        assertThat(answer.getLong("walSegmentsDeleted")).isEqualTo(1);
        assertThat(wal.list().segments()).isEqualTo(expected);
        assertThat(store.size(BUCKET, repository.layout().manifest(newer.repository().chainId(), newer.backupId())))
                .isPresent();
    }

    @Test
    void aSealedManifestRewrittenToALaterStartDeletesNoWalAndSaysWhich() throws Exception {
        String source = "storage-test-forged-start-" + UUID.randomUUID().toString().substring(0, 8);
        String policy = FakeScheduler.policy(source, 0, 0, 0);
        Repository repository = repositories.openOrInit(BUCKET, REPOSITORY_ROOT + "/" + source);
        WalArchive wal = repository.wal(SEGMENT_SIZE);
        for (long n = 1; n <= 6; n++) {
            wal.put(segment(1, n), walBytes(segment(1, n)));
        }
        SnapshotCreated older = uploadedPhysicalSnapshot(source, policy, startingAt(segment(1, 2)));
        ExpiredBackupDeletionTest.sealedAs(this, older);
        SnapshotCreated newer = uploadedPhysicalSnapshot(source, policy, startingAt(segment(1, 5)));
        ExpiredBackupDeletionTest.sealedAs(this, newer);
        byte[] sealedBytes = Repository.readAll(store, BUCKET, older.objectKey(), Repository.MAX_MANIFEST_BYTES,
                "manifest");
        // rewritten in the bucket to claim the newer backup's start: segments 2 to 4 would look unneeded
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode forged = (ObjectNode) mapper.readTree(sealedBytes);
        ((ObjectNode) forged.get("physical")).put("startWalSegment", segment(1, 5));
        store.put(BUCKET, older.objectKey(), mapper.writeValueAsBytes(forged));
        outlive(MIN_AGE);
        double refusedBefore = GarbageCollectionTest.counter(GarbageCollectionTest.metrics(),
                "lifeboat_gc_sealed_manifests_refused_total", "collector=\"wal\",reason=\"mismatch\"");

        JsonPath refused = gcOf(source);

        assertThat(refused.getList("failures", String.class)).filteredOn(f -> f.startsWith("WAL of "))
                .singleElement().asString().contains(older.backupId(), "not the one sealed");
        assertThat(refused.getList("wal")).isEmpty();
        assertThat(refused.getLong("walSegmentsDeleted")).isZero();
        assertThat(wal.list().segments()).as("no WAL deleted").hasSize(6);
        assertThat(GarbageCollectionTest.counter(GarbageCollectionTest.metrics(),
                "lifeboat_gc_sealed_manifests_refused_total", "collector=\"wal\",reason=\"mismatch\"")
                - refusedBefore).isEqualTo(1);

        // the sealed manifest back: the next pass keeps from the older backup's start and deletes what is before it
        store.put(BUCKET, older.objectKey(), sealedBytes);
        JsonPath again = gcOf(source);
        assertThat(again.getList("failures")).isEmpty();
        assertThat(again.getString("wal[0].oldestBaseBackup")).isEqualTo(older.backupId());
        assertThat(again.getString("wal[0].keptFrom")).isEqualTo(segment(1, 2));
        assertThat(again.getLong("walSegmentsDeleted")).isEqualTo(1);
        assertThat(wal.list().segments()).containsExactly(segment(1, 2), segment(1, 3), segment(1, 4),
                segment(1, 5), segment(1, 6));
    }

    @Test
    void aSealedBaseBackupWhoseManifestIsDeletedFromTheBucketGetsNoWalItNeedsDeleted() throws Exception {
        String source = "storage-test-missing-" + UUID.randomUUID().toString().substring(0, 8);
        String policy = FakeScheduler.policy(source, 0, 0, 0);
        Repository repository = repositories.openOrInit(BUCKET, REPOSITORY_ROOT + "/" + source);
        WalArchive wal = repository.wal(SEGMENT_SIZE);
        for (long n = 1; n <= 6; n++) {
            wal.put(segment(1, n), walBytes(segment(1, n)));
        }
        SnapshotCreated older = uploadedPhysicalSnapshot(source, policy, startingAt(segment(1, 2)));
        ExpiredBackupDeletionTest.sealedAs(this, older);
        SnapshotCreated newer = uploadedPhysicalSnapshot(source, policy, startingAt(segment(1, 5)));
        ExpiredBackupDeletionTest.sealedAs(this, newer);
        byte[] sealedBytes = Repository.readAll(store, BUCKET, older.objectKey(), Repository.MAX_MANIFEST_BYTES,
                "manifest");
        // deleted from the bucket, and its chain marker too: WAL retention would keep only from the newer start
        store.delete(BUCKET, older.objectKey());
        store.delete(BUCKET, repository.layout().chainMarker(older.repository().chainId()));
        outlive(MIN_AGE);
        double refusedBefore = GarbageCollectionTest.counter(GarbageCollectionTest.metrics(),
                "lifeboat_gc_sealed_manifests_refused_total", "collector=\"wal\",reason=\"missing\"");

        JsonPath refused = gcOf(source);

        assertThat(refused.getList("failures", String.class)).filteredOn(f -> f.startsWith("WAL of "))
                .singleElement().asString().contains(older.backupId(), "not in the bucket");
        assertThat(refused.getLong("walSegmentsDeleted")).isZero();
        assertThat(wal.list().segments()).as("no WAL deleted").hasSize(6);
        assertThat(GarbageCollectionTest.counter(GarbageCollectionTest.metrics(),
                "lifeboat_gc_sealed_manifests_refused_total", "collector=\"wal\",reason=\"missing\"")
                - refusedBefore).isEqualTo(1);

        // put back (the marker stays gone): the seals name its chain, so retention keeps from its start again
        store.put(BUCKET, older.objectKey(), sealedBytes);
        JsonPath again = gcOf(source);
        assertThat(again.getList("failures")).isEmpty();
        assertThat(again.getString("wal[0].oldestBaseBackup")).isEqualTo(older.backupId());
        assertThat(again.getString("wal[0].keptFrom")).isEqualTo(segment(1, 2));
        assertThat(wal.list().segments()).containsExactly(segment(1, 2), segment(1, 3), segment(1, 4),
                segment(1, 5), segment(1, 6));
    }

    /** POST /api/v1/gc on the repository of {@code source}. */
    private static JsonPath gcOf(String source) {
        return given().auth().oauth2(Tokens.admin()).queryParam("bucket", BUCKET)
                .queryParam("prefix", REPOSITORY_ROOT + "/" + source).when().post("/api/v1/gc").then()
                .statusCode(200).extract().jsonPath();
    }

    @Test
    void aRepositoryWithWalButNoBaseBackupKeepsAllOfIt() throws Exception {
        String source = "storage-test-walonly-" + UUID.randomUUID().toString().substring(0, 8);
        Repository repository = repositories.openOrInit(BUCKET, REPOSITORY_ROOT + "/" + source);
        WalArchive wal = repository.wal(SEGMENT_SIZE);
        for (long n = 3; n <= 5; n++) {
            wal.put(segment(1, n), walBytes(segment(1, n)));
        }
        wal.putPartial(segment(1, 6), walBytes(segment(1, 6)), 512);
        // a logical backup does not start a restore from WAL: it protects nothing and deletes nothing
        SnapshotCreated logical = uploadedSnapshot(10_000, source, null);
        ExpiredBackupDeletionTest.sealedAs(this, logical);
        outlive(MIN_AGE);

        JsonPath answer = gcOf(source);

        assertThat(answer.getList("failures")).isEmpty();
        assertThat(answer.getString("wal[0].keptFrom")).isNull();
        assertThat(answer.getInt("wal[0].baseBackups")).isZero();
        assertThat(answer.getLong("walSegmentsDeleted")).isZero();
        assertThat(wal.list().segments()).containsExactly(segment(1, 3), segment(1, 4), segment(1, 5));
        assertThat(wal.list().partials()).containsExactly(segment(1, 6));
    }
}
