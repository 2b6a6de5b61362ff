package dev.lifeboat.repository.wal;

import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.S3ObjectStore;
import dev.lifeboat.repository.blob.S3Settings;
import dev.lifeboat.repository.blob.Sha256;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.SealedManifestRefusedException;
import dev.lifeboat.repository.snapshot.SealedManifests;
import dev.lifeboat.repository.snapshot.SnapshotWriter;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The WAL archive on the real S3-compatible server, with small segments so the test stays quick. */
class WalArchiveTest {
    private static final String BUCKET = "lifeboat-wal-test";
    private static final int SEGMENT = 1024 * 1024;

    private ObjectStore store;
    private String prefix;
    private WalArchive wal;
    private Repository repository;
    private MasterKey key;

    @BeforeEach
    void setUp() {
        LocalStack stack = LocalStack.ensureStarted();
        store = S3ObjectStore.connect(new S3Settings(Optional.of(URI.create(stack.s3Endpoint())), "us-east-1", true,
                "local-access-key", "local-secret-key", S3Settings.MIN_PART_SIZE));
        prefix = "wal-" + UUID.randomUUID();
        key = MasterKey.generate();
        repository = Repository.init(store, BUCKET, prefix, key);
        wal = repository.wal(SEGMENT);
    }

    private static byte[] segment(long seed) {
        byte[] b = new byte[SEGMENT];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String name(int timeline, long number) {
        return WalNames.segmentName(timeline, number, SEGMENT);
    }

    /** A segment whose first page carries PostgreSQL's long header naming cluster {@code systemIdentifier}. */
    private static byte[] segmentOf(long systemIdentifier, long number, long seed) {
        byte[] b = segment(seed);
        java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        h.putShort(0, (short) 0xD116).putShort(2, (short) 0x0002).putInt(4, 1).putLong(8, number * SEGMENT)
                .putInt(16, 0).putInt(20, 0).putLong(24, systemIdentifier).putInt(32, SEGMENT).putInt(36, 8192);
        return b;
    }

    @Test
    void anArchiveBelongsToOneClusterAndIsMovedAsideOnlyWhenItsClusterIsNamed() {
        long a = 7_415_000_000_000_000_001L;
        long b = 7_415_000_000_000_000_002L;
        // an archive written before archives recorded their cluster: its newest segment's header tells
        wal.put(name(1, 3), segmentOf(a, 3, 3));
        wal.putPartial(name(1, 4), segmentOf(a, 4, 4), 4096);
        assertThat(wal.identity()).isEmpty();
        assertThatThrownBy(() -> wal.claim(Long.toUnsignedString(b))).isInstanceOf(ForeignClusterException.class)
                .hasMessageContaining("system identifier " + a).hasMessageContaining("not to cluster " + b);
        assertThat(wal.identity()).as("a refused claim records nothing").isEmpty();
        assertThat(wal.claim(Long.toUnsignedString(a)).systemIdentifier()).isEqualTo(Long.toUnsignedString(a));
        assertThat(wal.identity().orElseThrow().systemIdentifier()).isEqualTo(Long.toUnsignedString(a));
        assertThatThrownBy(() -> wal.claim(Long.toUnsignedString(b))).isInstanceOf(ForeignClusterException.class);

        // a segment of another cluster under a name replay asks for is refused, naming both
        wal.put(name(1, 5), segmentOf(b, 5, 5));
        assertThat(wal.fetch(name(1, 3), Long.toUnsignedString(a))).isPresent();
        assertThat(wal.fetch(name(1, 4), Long.toUnsignedString(a))).as("a partial's header counts").isPresent();
        assertThatThrownBy(() -> wal.fetch(name(1, 5), Long.toUnsignedString(a)))
                .isInstanceOf(ForeignClusterException.class).hasMessageContaining(name(1, 5))
                .hasMessageContaining(Long.toUnsignedString(a)).hasMessageContaining(Long.toUnsignedString(b));
        assertThat(WalSegmentHeader.systemIdentifier(segment(9), SEGMENT, SEGMENT)).as("no long header").isEmpty();

        // moved aside only when the caller names the archive's cluster; then a new archive can start here
        assertThatThrownBy(() -> wal.retire(Long.toUnsignedString(b), java.time.Instant.now()))
                .isInstanceOf(ForeignClusterException.class).hasMessageContaining("nothing was moved");
        assertThat(wal.list().segments()).hasSize(2);
        WalArchive.Retired retired = wal.retire(Long.toUnsignedString(a), java.time.Instant.parse(
                "2026-12-04T10:00:00Z"));
        assertThat(retired.location()).endsWith(prefix + "/wal-retired/" + a + "-20261204T100000Z/");
        assertThat(retired.objects()).isEqualTo(4);
        assertThat(wal.list().segments()).isEmpty();
        assertThat(wal.list().partials()).isEmpty();
        assertThat(wal.identity()).isEmpty();
        assertThat(wal.claim(Long.toUnsignedString(b)).systemIdentifier()).isEqualTo(Long.toUnsignedString(b));
        WalArchive old = wal.retired().getFirst();
        assertThat(wal.retired()).hasSize(1);
        assertThat(old.identity().orElseThrow().systemIdentifier()).isEqualTo(Long.toUnsignedString(a));
        assertThat(old.fetch(name(1, 3), Long.toUnsignedString(a))).contains(segmentOf(a, 3, 3));
        assertThat(old.list().partials()).containsExactly(name(1, 4));
    }

    @Test
    void aRetiredArchiveKeepsOnlyWhatBaseBackupsOfItsClusterNeedAndGoesWithTheLastOfThem() throws Exception {
        long a = 7_415_000_000_000_000_011L;
        long b = 7_415_000_000_000_000_012L;
        wal.claim(Long.toUnsignedString(a));
        for (int n = 3; n <= 6; n++) {
            wal.put(name(1, n), segmentOf(a, n, n));
        }
        wal.retire(Long.toUnsignedString(a), java.time.Instant.now());
        wal.claim(Long.toUnsignedString(b));
        for (int n = 10; n <= 11; n++) {
            wal.put(name(1, n), segmentOf(b, n, n));
        }
        String backupOfA = baseBackup(a, name(1, 5));
        baseBackup(b, name(1, 10));

        WalCollector.Result first = repository.walCollector(java.time.Duration.ZERO).collect();
        WalArchive retired = wal.retired().getFirst();
        assertThat(retired.list().segments()).as("the retired cluster's base backup starts in segment 5")
                .containsExactly(name(1, 5), name(1, 6));
        assertThat(first.retired()).singleElement().satisfies(r -> {
            assertThat(r.systemIdentifier()).isEqualTo(Long.toUnsignedString(a));
            assertThat(r.keptFrom()).isEqualTo(name(1, 5));
            assertThat(r.objectsDeleted()).isEqualTo(2);
        });
        assertThat(wal.list().segments()).as("the live archive's WAL is the new cluster's").containsExactly(
                name(1, 10), name(1, 11));

        // the live archive's identity record copied over the retired one's (it opens: sealed under the same name):
        // base backups of the new cluster must not decide what of the old cluster's WAL goes
        String retiredRecord = prefix + "/wal-retired/" + retired.location().replaceAll(".*/wal-retired/", "")
                + WalArchive.SYSTEM_IDENTIFIER;
        byte[] original;
        try (java.io.InputStream in = store.open(BUCKET, retiredRecord)) {
            original = in.readAllBytes();
        }
        try (java.io.InputStream in = store.open(BUCKET, prefix + "/wal/" + WalArchive.SYSTEM_IDENTIFIER)) {
            store.put(BUCKET, retiredRecord, in.readAllBytes());
        }
        repository.store().delete(BUCKET, repository.layout().manifest(
                repository.findManifest(backupOfA).orElseThrow().chainId(), backupOfA));
        WalCollector.Result swapped = repository.walCollector(java.time.Duration.ZERO).collect();
        assertThat(swapped.retired()).singleElement().satisfies(r -> {
            assertThat(r.deletedWhole()).isFalse();
            assertThat(r.objectsDeleted()).isZero();
        });
        assertThat(wal.retired().getFirst().list().segments()).containsExactly(name(1, 5), name(1, 6));
        store.put(BUCKET, retiredRecord, original);

        // the retired cluster's last base backup expires: its archive goes, the live one stays
        WalCollector.Result second = repository.walCollector(java.time.Duration.ZERO).collect();
        assertThat(second.retired()).singleElement().satisfies(r -> {
            assertThat(r.deletedWhole()).isTrue();
            assertThat(r.objectsDeleted()).isEqualTo(3);
        });
        assertThat(wal.retired()).isEmpty();
        assertThat(store.list(BUCKET, prefix + "/wal-retired/")).isEmpty();
        assertThat(wal.list().segments()).containsExactly(name(1, 10), name(1, 11));
        assertThat(wal.identity().orElseThrow().systemIdentifier()).isEqualTo(Long.toUnsignedString(b));
    }

    @Test
    void aSealedManifestRewrittenToALaterStartStopsRetentionBeforeItDeletesAnyWal() throws Exception {
        long a = 7_415_000_000_000_000_021L;
        wal.claim(Long.toUnsignedString(a));
        for (int n = 1; n <= 6; n++) {
            wal.put(name(1, n), segmentOf(a, n, n));
        }
        String older = baseBackup(a, name(1, 3));
        String newer = baseBackup(a, name(1, 5));
        String olderChain = repository.findManifest(older).orElseThrow().chainId();
        String manifestKey = repository.layout().manifest(olderChain, older);
        byte[] sealedBytes = Repository.readAll(store, BUCKET, manifestKey, Repository.MAX_MANIFEST_BYTES, "manifest");
        SealedManifests seals = new SealedManifests(() -> java.util.Map.of(older,
                new SealedManifests.Seal(olderChain, Sha256.of(sealedBytes))));
        // rewritten in the bucket to claim the newer backup's start: WAL the older one needs would look unneeded
        com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode forged =
                (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(sealedBytes);
        ((com.fasterxml.jackson.databind.node.ObjectNode) forged.get("physical")).put("startWalSegment", name(1, 5));
        store.put(BUCKET, manifestKey, mapper.writeValueAsBytes(forged));

        assertThatThrownBy(() -> repository.walCollector(java.time.Duration.ZERO).withSealedManifests(seals).collect())
                .isInstanceOfSatisfying(SealedManifestRefusedException.class, e -> {
                    assertThat(e.backupId()).isEqualTo(older);
                    assertThat(e.reason()).isEqualTo(SealedManifestRefusedException.Reason.MISMATCH);
                })
                .hasMessageContaining("not the one sealed");
        assertThat(wal.list().segments()).as("no WAL deleted").hasSize(6);

        // the sealed manifest back: retention keeps from the older backup's start again
        store.put(BUCKET, manifestKey, sealedBytes);
        WalCollector.Result result = repository.walCollector(java.time.Duration.ZERO).withSealedManifests(seals)
                .collect();
        assertThat(result.oldestBaseBackup()).isEqualTo(older);
        assertThat(result.keptFrom()).isEqualTo(name(1, 3));
        assertThat(result.segmentsDeleted()).isEqualTo(2);
        assertThat(wal.list().segments()).containsExactly(name(1, 3), name(1, 4), name(1, 5), name(1, 6));
        assertThat(repository.findManifest(newer)).isPresent();
    }

    @Test
    void aSealedBaseBackupWhoseManifestOrChainMarkerIsMissingKeepsTheWalItNeeds() throws Exception {
        long a = 7_415_000_000_000_000_022L;
        wal.claim(Long.toUnsignedString(a));
        for (int n = 1; n <= 6; n++) {
            wal.put(name(1, n), segmentOf(a, n, n));
        }
        String older = baseBackup(a, name(1, 3));
        String newer = baseBackup(a, name(1, 5));
        String olderChain = repository.findManifest(older).orElseThrow().chainId();
        String newerChain = repository.findManifest(newer).orElseThrow().chainId();
        String olderKey = repository.layout().manifest(olderChain, older);
        byte[] olderBytes = Repository.readAll(store, BUCKET, olderKey, Repository.MAX_MANIFEST_BYTES, "manifest");
        byte[] newerBytes = Repository.readAll(store, BUCKET, repository.layout().manifest(newerChain, newer),
                Repository.MAX_MANIFEST_BYTES, "manifest");
        SealedManifests seals = new SealedManifests(() -> java.util.Map.of(
                older, new SealedManifests.Seal(olderChain, Sha256.of(olderBytes)),
                newer, new SealedManifests.Seal(newerChain, Sha256.of(newerBytes))));

        // the older one's manifest deleted from the bucket: the keep-point would move to the newer one's start
        store.delete(BUCKET, olderKey);
        assertThatThrownBy(() -> repository.walCollector(java.time.Duration.ZERO).withSealedManifests(seals).collect())
                .isInstanceOfSatisfying(SealedManifestRefusedException.class, e -> {
                    assertThat(e.backupId()).isEqualTo(older);
                    assertThat(e.chainId()).isEqualTo(olderChain);
                    assertThat(e.reason()).isEqualTo(SealedManifestRefusedException.Reason.MISSING);
                })
                .hasMessageContaining("not in the bucket");
        assertThat(wal.list().segments()).as("no WAL deleted").hasSize(6);

        // put back, but its chain marker deleted: the seals still name the chain, so it is walked
        store.put(BUCKET, olderKey, olderBytes);
        store.delete(BUCKET, repository.layout().chainMarker(olderChain));
        assertThat(repository.chains()).doesNotContain(olderChain);
        WalCollector.Result result = repository.walCollector(java.time.Duration.ZERO).withSealedManifests(seals)
                .collect();
        assertThat(result.oldestBaseBackup()).isEqualTo(older);
        assertThat(result.keptFrom()).isEqualTo(name(1, 3));
        assertThat(wal.list().segments()).containsExactly(name(1, 3), name(1, 4), name(1, 5), name(1, 6));
    }

    /** A physical base backup of cluster {@code systemIdentifier} starting in {@code startSegment}; its backup id. */
    private String baseBackup(long systemIdentifier, String startSegment) throws Exception {
        String backupId = "full-" + systemIdentifier % 1000 + "-" + UUID.randomUUID();
        java.time.Instant now = java.time.Instant.now();
        Manifest.Physical facts = new Manifest.Physical(Long.toUnsignedString(systemIdentifier), "15", "15.8", 1,
                "0/0", "0/0", startSegment, now, now);
        byte[] tar = segment(systemIdentifier);
        repository.writer().physical(() -> facts).write(List.of(new SnapshotWriter.Entry(Manifest.BASE_TAR,
                () -> new java.io.ByteArrayInputStream(tar))).iterator(), BackupType.FULL,
                ChainContext.latestChain(backupId), null);
        return backupId;
    }

    @Test
    void aSegmentComesBackAsStoredAndItsPartialGivesWayToIt() {
        byte[] full = segment(1);
        wal.putPartial(name(1, 7), full, 1000);
        byte[] padded = wal.fetch(name(1, 7)).orElseThrow();
        assertThat(padded).hasSize(SEGMENT);
        assertThat(Arrays.copyOf(padded, 1000)).isEqualTo(Arrays.copyOf(full, 1000));
        assertThat(Arrays.copyOfRange(padded, 1000, SEGMENT)).containsOnly((byte) 0);

        wal.put(name(1, 7), full);
        assertThat(wal.fetch(name(1, 7))).contains(full);
        assertThat(wal.list().partials()).isEmpty();
        assertThat(wal.fetch(name(1, 8))).isEmpty();
        assertThat(wal.fetch("00000002.history")).isEmpty();
    }

    @Test
    void aGrowingPartialIsStoredAsPiecesThatJoinIntoItsPrefix() {
        byte[] full = segment(11);
        String seg = name(1, 9);
        String root = prefix + "/wal/";
        java.util.concurrent.atomic.AtomicLong uploaded = new java.util.concurrent.atomic.AtomicLong();
        WalArchive counted = Repository.openOrInit(new CountingStore(store, uploaded), BUCKET, prefix, key)
                .wal(SEGMENT);
        WalArchive.PartialWriter writer = counted.partialWriter(seg);
        assertThat(writer.stored()).isZero();
        int[] lengths = {4096, 5000, 6000, 7000, 9000, 9100, 20_000, 20_001};
        for (int length : lengths) {
            assertThat(writer.write(full, length)).isTrue();
            assertThat(wal.partialLength(seg)).as("joined after storing %d bytes", length).isEqualTo(length);
            byte[] fetched = wal.fetch(seg).orElseThrow();
            assertThat(Arrays.copyOf(fetched, length)).isEqualTo(Arrays.copyOf(full, length));
            assertThat(Arrays.copyOfRange(fetched, length, SEGMENT)).containsOnly((byte) 0);
        }
        assertThat(writer.write(full, 20_001)).as("nothing new").isFalse();
        awaitObjects(root + seg, 2);   // the base of 20000 bytes and the piece after it
        assertThat(wal.list().partials()).containsExactly(seg);
        assertThat(wal.writtenAt(seg)).isPresent();
        // bases at 4096, 9000 and 20000 bytes, the rest as pieces: 36101 bytes of WAL (plus each object's sealing)
        // where storing the whole prefix every time would upload 80197
        long whole = Arrays.stream(lengths).asLongStream().sum();
        assertThat(uploaded.get()).isLessThan(whole / 2);

        // a new writer (another archiver, or this one after a reconnect) starts from what is stored, never shorter
        WalArchive.PartialWriter next = wal.partialWriter(seg);
        assertThat(next.stored()).isEqualTo(20_001);
        assertThat(next.write(full, 15_000)).isFalse();
        assertThat(next.write(full, 30_000)).isTrue();
        awaitObjects(root + seg, 1);   // its first store is a base; the piece it covers is deleted
        assertThat(store.list(BUCKET, root + seg)).containsExactly(root + seg + ".partial");
        assertThat(Arrays.copyOf(wal.fetch(seg).orElseThrow(), 30_000)).isEqualTo(Arrays.copyOf(full, 30_000));

        // many small pieces: a new base at the 33rd, so a read joins at most 33 objects
        for (int length = 30_010; length <= 30_500; length += 10) {
            next.write(full, length);
        }
        // 32 pieces, then a base at 30330 bytes (the 32 deleted), then 17 pieces
        awaitObjects(root + seg, 18);
        assertThat(Arrays.copyOf(wal.fetch(seg).orElseThrow(), 30_500)).isEqualTo(Arrays.copyOf(full, 30_500));
        assertThat(wal.partialLength(seg)).isEqualTo(30_500);

        next.complete(full);
        awaitObjects(root + seg, 1);
        assertThat(store.list(BUCKET, root + seg)).containsExactly(root + seg);
        assertThat(wal.fetch(seg)).contains(full);
        assertThat(wal.list().partials()).isEmpty();
    }

    @Test
    void aPieceJoinsOnlyWhereItContinuesItsOwnBase() throws Exception {
        byte[] full = segment(12);
        String seg = name(1, 10);
        String root = prefix + "/wal/";
        WalArchive.PartialWriter writer = wal.partialWriter(seg);
        writer.write(full, 1000);
        writer.write(full, 1200);   // piece at 1000
        writer.write(full, 1300);   // piece at 1200
        String at1000 = piece(root + seg, "000003e8");
        String at1200 = piece(root + seg, "000004b0");
        assertThat(wal.partialLength(seg)).isEqualTo(1300);

        // a piece lost: what follows it does not join, the partial ends where the hole starts
        byte[] kept = readObject(at1000);
        store.delete(BUCKET, at1000);
        assertThat(wal.partialLength(seg)).isEqualTo(1000);
        // a piece's content stored under another piece's name does not open there: the partial is refused
        store.put(BUCKET, at1000, readObject(at1200));
        assertThatThrownBy(() -> wal.fetch(seg)).isInstanceOf(WalIntegrityException.class);
        store.put(BUCKET, at1000, kept);
        assertThat(Arrays.copyOf(wal.fetch(seg).orElseThrow(), 1300)).isEqualTo(Arrays.copyOf(full, 1300));

        // pieces name the base they continue: another base (here of other bytes, as one copied from another archive
        // of the repository would hold) joins none of them, and they are not even read
        byte[] other = segment(13);
        wal.putPartial(seg, other, 1000);
        assertThat(wal.partialLength(seg)).isEqualTo(1000);
        assertThat(Arrays.copyOf(wal.fetch(seg).orElseThrow(), 1000)).isEqualTo(Arrays.copyOf(other, 1000));

        // a new writer starts from that base; an object under a piece's name with an offset past any segment (no
        // content, no key needed to put it there) is passed over
        WalArchive.PartialWriter next = wal.partialWriter(seg);
        next.write(full, 1100);
        next.write(full, 1150);   // piece at 1100
        String at1100 = piece(root + seg, "0000044c");
        store.put(BUCKET, at1100.replace(".0000044c-", ".ffffffff-"), new byte[0]);
        assertThat(wal.partialLength(seg)).isEqualTo(1150);
        assertThat(Arrays.copyOf(wal.fetch(seg).orElseThrow(), 1150)).isEqualTo(Arrays.copyOf(full, 1150));

        // pieces without their base join nothing: no partial
        store.delete(BUCKET, root + seg + ".partial");
        assertThat(wal.fetch(seg)).isEmpty();
        assertThat(wal.partialLength(seg)).isZero();
        assertThat(wal.list().partials()).isEmpty();

        // retention deletes the pieces of a segment before the oldest kept
        wal.putPartial(seg, full, 1000);
        WalArchive.Pruned pruned = wal.pruneBefore(name(1, 11), java.time.Instant.now().plusSeconds(60));
        assertThat(pruned.partials()).as("a partial counts once").isEqualTo(1);
        assertThat(store.list(BUCKET, root + seg)).isEmpty();
    }

    @Test
    void aPartialThatDoesNotOpenIsStoredAnewByTheNextWriter() {
        byte[] full = segment(14);
        String seg = name(1, 12);
        String root = prefix + "/wal/";
        WalArchive.PartialWriter writer = wal.partialWriter(seg);
        writer.write(full, 2000);
        writer.write(full, 2500);
        store.put(BUCKET, root + seg + ".partial", new byte[] {1, 2, 3});   // damaged, or not this repository's
        assertThatThrownBy(() -> wal.fetch(seg)).isInstanceOf(WalIntegrityException.class);

        WalArchive.PartialWriter next = wal.partialWriter(seg);
        assertThat(next.replacing()).hasValueSatisfying(why -> assertThat(why).contains(seg + ".partial"));
        assertThat(next.stored()).isZero();
        assertThat(next.write(full, 1500)).isTrue();
        awaitObjects(root + seg, 1);   // a new base; the piece of the damaged one deleted
        assertThat(Arrays.copyOf(wal.fetch(seg).orElseThrow(), 1500)).isEqualTo(Arrays.copyOf(full, 1500));
        assertThat(wal.partialWriter(seg).replacing()).isEmpty();
    }

    /** The key of the piece of {@code partial} at {@code offset} (8 hex digits), whatever base it names. */
    private String piece(String partial, String offset) {
        List<String> found = store.list(BUCKET, partial + ".partial." + offset + "-");
        assertThat(found).as("the piece at %s", offset).hasSize(1);
        return found.getFirst();
    }

    private byte[] readObject(String key) throws java.io.IOException {
        try (var in = store.open(BUCKET, key)) {
            return in.readAllBytes();
        }
    }

    /** Waits (10 s at most) until {@code prefix} holds {@code count} objects: pieces are deleted in the background. */
    private void awaitObjects(String prefix, int count) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (store.list(BUCKET, prefix).size() != count && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        assertThat(store.list(BUCKET, prefix)).hasSize(count);
    }

    /** The store, counting the bytes put into it. */
    private static final class CountingStore extends dev.lifeboat.repository.blob.ForwardingObjectStore {
        private final java.util.concurrent.atomic.AtomicLong put;

        CountingStore(ObjectStore store, java.util.concurrent.atomic.AtomicLong put) {
            super(store);
            this.put = put;
        }

        @Override
        public void put(String bucket, String key, byte[] content) {
            put.addAndGet(content.length);
            super.put(bucket, key, content);
        }
    }

    @Test
    void aHoleIsFoundAcrossATimelineSwitch() {
        wal.put(name(1, 3), segment(3));
        wal.put(name(1, 4), segment(4));
        // timeline 2 branched off in segment 5 (1 MiB segments)
        wal.put("00000002.history", "1\t0/500100\tbefore transaction 900\n".getBytes());
        wal.put(name(2, 5), segment(5));
        wal.putPartial(name(2, 6), segment(6), 4096);
        WalArchive.Continuity whole = wal.continuity(name(1, 3));
        assertThat(whole.unbroken()).isTrue();
        assertThat(whole.lastContiguous()).contains(name(2, 5));
        assertThat(whole.partial()).contains(name(2, 6));

        wal.pruneBefore(name(1, 5), java.time.Instant.now().plusSeconds(60));
        assertThat(wal.list().segments()).containsExactly(name(2, 5));
        assertThat(wal.list().histories()).containsExactly("00000002.history");

        wal.put(name(2, 8), segment(8));
        WalArchive.Continuity broken = wal.continuity(name(2, 5));
        assertThat(broken.unbroken()).isFalse();
        assertThat(broken.lastContiguous()).contains(name(2, 5));
        assertThat(broken.firstMissing()).contains(name(2, 6));
    }

    @Test
    void continuityFollowsTheHistoryFileAndIgnoresWalOfTheAbandonedTimeline() {
        wal.put(name(1, 3), segment(3));
        wal.put(name(1, 4), segment(4));
        wal.putPartial(name(1, 5), segment(5), 4096);
        // the former primary wrote on after the switch: segment 6 of timeline 1 is not on the path
        wal.put(name(1, 6), segment(16));
        wal.put("00000002.history", "1\t0/500100\tno recovery target specified\n".getBytes());
        wal.put(name(2, 5), segment(5));
        wal.put(name(2, 7), segment(7));
        WalArchive.Continuity c = wal.continuity(name(1, 3));
        assertThat(c.unbroken()).isFalse();
        assertThat(c.lastContiguous()).contains(name(2, 5));
        assertThat(c.firstMissing()).contains(name(2, 6));

        wal.put(name(2, 6), segment(6));
        assertThat(wal.continuity(name(1, 3)).unbroken()).isTrue();
        assertThat(wal.continuity(name(1, 3)).lastContiguous()).contains(name(2, 7));
        // a segment of the path's parent missing before the switch is a hole even when the child has it
        wal.put(name(2, 4), segment(4));
        store.delete(BUCKET, prefix + "/wal/" + name(1, 4));
        assertThat(wal.continuity(name(1, 3)).firstMissing()).contains(name(1, 4));
    }

    @Test
    void pruningComparesWalPositionsWhateverSegmentSizeItAssumesAndSparesRecentFiles() {
        // 1 MiB segments: 4096 per "log", so the segment after 00000FFF is 000000010000000100000000
        String beforeBoundary = name(1, 4095);
        String keptFrom = name(2, 4096);
        wal.put(beforeBoundary, segment(1));
        wal.put(name(1, 4096), segment(2));
        wal.put(keptFrom, segment(3));
        wal.putPartial(name(2, 4097), segment(4), 100);
        wal.put(beforeBoundary + ".00000028.backup", "START WAL LOCATION".getBytes());
        wal.put("00000002.history", "1\t0/100000000\tno recovery target specified\n".getBytes());
        assertThat(beforeBoundary).isEqualTo("000000010000000000000FFF");
        assertThat(keptFrom).isEqualTo("000000020000000100000000");

        // the default archive assumes 16 MiB segments (256 per log), where 00000FFF would count as far ahead
        WalArchive assumingDefaultSize = repository.wal();
        WalArchive.Pruned tooRecent = assumingDefaultSize.pruneBefore(keptFrom, java.time.Instant.now().minusSeconds(60));
        assertThat(tooRecent.segments() + tooRecent.backupHistories()).isZero();
        assertThat(tooRecent.keptYoung()).isEqualTo(2);

        WalArchive.Pruned pruned = assumingDefaultSize.pruneBefore(keptFrom, java.time.Instant.now().plusSeconds(60));
        assertThat(pruned.segments()).isEqualTo(1);
        assertThat(pruned.backupHistories()).isEqualTo(1);
        assertThat(pruned.partials()).isZero();
        assertThat(wal.list().segments()).containsExactly(name(1, 4096), keptFrom);
        assertThat(wal.list().partials()).containsExactly(name(2, 4097));
        assertThat(wal.list().histories()).containsExactly("00000002.history");
        assertThat(wal.continuity(keptFrom).unbroken()).isTrue();
    }

    @Test
    void anObjectMovedUnderAnotherNameOrAlteredIsRefused() throws Exception {
        wal.put(name(1, 1), segment(1));
        byte[] stored;
        try (var in = store.open(BUCKET, prefix + "/wal/" + name(1, 1))) {
            stored = in.readAllBytes();
        }
        store.put(BUCKET, prefix + "/wal/" + name(1, 2), stored);
        assertThatThrownBy(() -> wal.fetch(name(1, 2))).isInstanceOf(WalIntegrityException.class)
                .hasMessageContaining(name(1, 2));
        stored[stored.length - 1] ^= 1;
        store.put(BUCKET, prefix + "/wal/" + name(1, 1), stored);
        assertThatThrownBy(() -> wal.fetch(name(1, 1))).isInstanceOf(WalIntegrityException.class);
    }

    @Test
    void namesOutsideWalAreRefused() {
        assertThatThrownBy(() -> wal.fetch("../keys/repository-key.json")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> wal.put(name(1, 1), new byte[10])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not " + SEGMENT);
        assertThat(WalNames.parseLsn("16/B374D848")).isEqualTo(0x16B374D848L);
        assertThat(WalNames.formatLsn(0x16B374D848L)).isEqualTo("16/B374D848");
        assertThat(WalNames.segmentOf(1, 0x16B374D848L, 16 * 1024 * 1024)).isEqualTo("0000000100000016000000B3");
    }
}
