package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.blob.Sha256;
import dev.lifeboat.repository.content.Chunker;
import dev.lifeboat.repository.keys.MasterKey;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Garbage collection on every object store. The collector's clock is moved by hand so that "after the grace period"
 * does not need hours; the object store's last-modified times stay real.
 */
abstract class GarbageCollectionContract {
    static final String BUCKET = "lifeboat-gc-test";
    static final Duration GRACE = Duration.ofHours(1);
    static final Chunker.Sizes SMALL = new Chunker.Sizes(1024, 4096, 16 * 1024);

    @TempDir
    Path tmp;
    ObjectStore store;
    Repository repo;
    Instant start;
    Instant base;

    abstract ObjectStore store();

    @BeforeEach
    void setUp() {
        store = store();
        repo = Repository.init(store, BUCKET, "gc-" + UUID.randomUUID(), MasterKey.generate());
        start = Instant.now();
    }

    /**
     * A pass as if it ran {@code after} the first pass of the test (which runs at the real time, after the test's
     * backups were written); no clock tolerance, so the stores' real last-modified times decide.
     */
    GarbageCollector.Result gcAt(Duration after) {
        if (base == null) {
            base = Instant.now();
        }
        Clock at = Clock.fixed(base.plus(after), ZoneOffset.UTC);
        return new GarbageCollector(repo, new GarbageCollector.Settings(GRACE, Duration.ZERO), at).collect();
    }

    Manifest backup(Path src, BackupType type, String id) throws IOException {
        return repo.writer(2, SMALL).write(src, type, ChainContext.latestChain(id)).manifest();
    }

    Set<String> storedChunks(String chainId) {
        String root = repo.layout().chunks(chainId);
        return store.list(BUCKET, root).stream().map(k -> k.substring(k.lastIndexOf('/') + 1))
                .collect(Collectors.toSet());
    }

    static Set<String> ids(Manifest m) {
        return m.distinctChunks().keySet().stream().map(Manifest.ChunkRef::id).collect(Collectors.toSet());
    }

    void expire(Manifest m) {
        store.delete(BUCKET, repo.layout().manifest(m.chainId(), m.backupId()));
    }

    void assertRestores(Manifest m, Path expected) throws IOException {
        Path dst = tmp.resolve("restore-" + m.backupId());
        repo.reader().restore(m, dst);
        assertThat(TestData.fingerprint(dst)).isEqualTo(TestData.fingerprint(expected));
    }

    /** FULL of two files, then an INCREMENTAL after one file changed: returns {full, incremental}, source at inc. */
    List<Manifest> fullThenIncremental(Path src) throws IOException {
        Files.write(src.resolve("a.dat"), TestData.tableText(60_000, 1));
        Files.write(src.resolve("b.bin"), TestData.random(50_000, 2));
        Manifest full = backup(src, BackupType.FULL, "full");
        Files.write(src.resolve("b.bin"), TestData.random(50_000, 3));
        Manifest inc = backup(src, BackupType.INCREMENTAL, "inc");
        return List.of(full, inc);
    }

    @Test
    void unreferencedChunksAreDeletedAfterTheGracePeriodAndReferencedOnesAreKept() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<Manifest> backups = fullThenIncremental(src);
        Manifest full = backups.get(0);
        Manifest inc = backups.get(1);
        Set<String> onlyFull = new HashSet<>(ids(full));
        onlyFull.removeAll(ids(inc));
        assertThat(onlyFull).isNotEmpty();
        long onlyFullBytes = full.distinctChunks().keySet().stream().filter(c -> onlyFull.contains(c.id()))
                .mapToLong(Manifest.ChunkRef::storedSize).sum();

        GarbageCollector.Result nothing = gcAt(Duration.ZERO);
        assertThat(nothing.chunksMarked()).isZero();
        assertThat(nothing.chunksDeleted()).isZero();

        expire(full);
        GarbageCollector.Result marked = gcAt(Duration.ofMinutes(1));
        assertThat(marked.chunksMarked()).isEqualTo(onlyFull.size());
        assertThat(marked.chunksDeleted()).isZero();
        assertThat(store.size(BUCKET, repo.layout().gcState(full.chainId()))).isPresent();

        GarbageCollector.Result swept = gcAt(GRACE.plusMinutes(2));
        assertThat(swept.chunksDeleted()).isEqualTo(onlyFull.size());
        assertThat(swept.bytesFreed()).isEqualTo(onlyFullBytes);
        assertThat(swept.chainsDeleted()).isEmpty();
        assertThat(storedChunks(inc.chainId())).isEqualTo(ids(inc));
        // nothing left to wait for: the chain's GC state is gone
        assertThat(store.size(BUCKET, repo.layout().gcState(full.chainId()))).isEmpty();
        assertThat(repo.verifier().quick(inc).ok()).isTrue();
        assertRestores(inc, src);
    }

    @Test
    void aManifestNeverSealedIsDeletedAfterItsGracePeriodAndItsChunksFollow() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<Manifest> backups = fullThenIncremental(src);
        Manifest full = backups.get(0);
        Manifest unsealed = backups.get(1); // its writer died before the backup was sealed
        Set<String> onlyUnsealed = new HashSet<>(ids(unsealed));
        onlyUnsealed.removeAll(ids(full));
        assertThat(onlyUnsealed).isNotEmpty();
        Duration unsealedGrace = Duration.ofHours(3);
        Set<String> sealedLookups = new HashSet<>();
        GarbageCollector.UnsealedManifests policy = new GarbageCollector.UnsealedManifests(id -> {
            sealedLookups.add(id);
            return id.equals(full.backupId());
        }, unsealedGrace);

        GarbageCollector.Result young = gcWith(policy, unsealedGrace.minusMinutes(1));
        assertThat(young.unsealedManifestsDeleted()).isEmpty();
        assertThat(repo.manifests(full.chainId())).containsExactly(full, unsealed);

        GarbageCollector.Result old = gcWith(policy, unsealedGrace.plusMinutes(1));
        assertThat(old.unsealedManifestsDeleted()).containsExactly(unsealed.backupId());
        assertThat(old.chunksMarked()).isEqualTo(onlyUnsealed.size());
        assertThat(repo.manifests(full.chainId())).containsExactly(full);
        assertThat(sealedLookups).contains(full.backupId(), unsealed.backupId());

        GarbageCollector.Result swept = gcWith(policy, unsealedGrace.plus(GRACE).plusMinutes(2));
        assertThat(swept.chunksDeleted()).isEqualTo(onlyUnsealed.size());
        assertThat(storedChunks(full.chainId())).isEqualTo(ids(full));
        assertThat(repo.verifier().quick(full).ok()).isTrue();
    }

    @Test
    void aSealedManifestRewrittenToListFewerChunksCollectsNothingOfItsChainUntilTheSealedOneIsBack()
            throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<Manifest> backups = fullThenIncremental(src);
        Manifest full = backups.get(0);
        Manifest inc = backups.get(1);
        String key = repo.layout().manifest(inc.chainId(), inc.backupId());
        byte[] sealedBytes = Repository.readAll(store, BUCKET, key, Repository.MAX_MANIFEST_BYTES, "manifest");
        // the FULL expired (deleted, so no longer sealed for the collector); the INCREMENTAL is sealed
        SealedManifests seals = new SealedManifests(() -> Map.of(inc.backupId(),
                new SealedManifests.Seal(inc.chainId(), Sha256.of(sealedBytes))));
        expire(full);
        Set<String> onlyFull = new HashSet<>(ids(full));
        onlyFull.removeAll(ids(inc));
        Set<String> before = storedChunks(inc.chainId());
        // rewritten in the bucket to list only b.bin: a.dat's chunks would look unreferenced
        store.put(BUCKET, key, ManifestEdits.listingOnly(sealedBytes, "b.bin"));

        GarbageCollector.Result refused = gcSealed(seals, Duration.ZERO);
        GarbageCollector.Result still = gcSealed(seals, GRACE.plusMinutes(2));

        for (GarbageCollector.Result r : List.of(refused, still)) {
            assertThat(r.sealedManifestsRefused()).containsExactly(
                    new GarbageCollector.RefusedManifest(inc.backupId(), inc.chainId(), "mismatch"));
            assertThat(r.chainsFailed()).singleElement().asString().startsWith(inc.chainId() + ": ")
                    .contains(inc.backupId(), "not the one sealed");
            assertThat(r.chunksMarked()).isZero();
            assertThat(r.chunksDeleted()).isZero();
        }
        assertThat(storedChunks(inc.chainId())).isEqualTo(before);

        // the sealed manifest back: the next passes collect what only the expired FULL referenced, as usual
        store.put(BUCKET, key, sealedBytes);
        GarbageCollector.Result marked = gcSealed(seals, GRACE.plusMinutes(3));
        assertThat(marked.sealedManifestsRefused()).isEmpty();
        assertThat(marked.chainsFailed()).isEmpty();
        assertThat(marked.chunksMarked()).isEqualTo(onlyFull.size());
        GarbageCollector.Result swept = gcSealed(seals, GRACE.multipliedBy(2).plusMinutes(4));
        assertThat(swept.chunksDeleted()).isEqualTo(onlyFull.size());
        assertThat(storedChunks(inc.chainId())).isEqualTo(ids(inc));
        assertRestores(inc, src);
    }

    @Test
    void aSealedManifestOverTheCapOrTruncatedStopsItsChainAndTheOtherChainsGoOn() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<Manifest> backups = fullThenIncremental(src);
        Manifest full = backups.get(0);
        Manifest inc = backups.get(1);
        String key = repo.layout().manifest(inc.chainId(), inc.backupId());
        byte[] sealedBytes = Repository.readAll(store, BUCKET, key, Repository.MAX_MANIFEST_BYTES, "manifest");
        assertThat(sealedBytes.length).isGreaterThan(1024);
        // a FULL in another chain that nobody references any more: its chain is collected whatever happens to inc's
        Files.write(src.resolve("c.dat"), TestData.tableText(20_000, 11));
        Manifest other = backup(src, BackupType.FULL, "other");
        expire(other);
        expire(full);
        SealedManifests seals = new SealedManifests(() -> Map.of(inc.backupId(),
                new SealedManifests.Seal(inc.chainId(), Sha256.of(sealedBytes))));
        Set<String> before = storedChunks(inc.chainId());
        int otherChunks = storedChunks(other.chainId()).size();
        assertThat(otherChunks).isPositive();

        // the cap of the repository is what refuses it: that says nothing about the manifest being intact
        GarbageCollector.Result tooLarge = new GarbageCollector(repo.withMaxManifestBytes(1024),
                new GarbageCollector.Settings(GRACE, Duration.ZERO), Clock.fixed(Instant.now(), ZoneOffset.UTC))
                .withSealedManifests(seals).collect();
        assertThat(tooLarge.sealedManifestsRefused()).containsExactly(
                new GarbageCollector.RefusedManifest(inc.backupId(), inc.chainId(), "too-large"));
        assertThat(tooLarge.chainsFailed()).singleElement().asString().contains(inc.backupId(), "max-manifest-bytes");
        assertThat(tooLarge.chunksMarked()).isEqualTo(otherChunks);

        // truncated in the bucket
        store.put(BUCKET, key, java.util.Arrays.copyOf(sealedBytes, sealedBytes.length / 2));
        GarbageCollector.Result truncated = gcSealed(seals, GRACE.plusMinutes(2));
        assertThat(truncated.sealedManifestsRefused()).containsExactly(
                new GarbageCollector.RefusedManifest(inc.backupId(), inc.chainId(), "mismatch"));
        assertThat(truncated.chunksDeleted()).isEqualTo(otherChunks);
        assertThat(storedChunks(inc.chainId())).isEqualTo(before);
        assertThat(storedChunks(other.chainId())).isEmpty();
    }

    @Test
    void aSealedManifestMissingFromTheBucketCollectsNothingOfItsChainUntilItIsBack() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<Manifest> backups = fullThenIncremental(src);
        Manifest full = backups.get(0);
        Manifest inc = backups.get(1);
        String key = repo.layout().manifest(inc.chainId(), inc.backupId());
        byte[] sealedBytes = Repository.readAll(store, BUCKET, key, Repository.MAX_MANIFEST_BYTES, "manifest");
        // both sealed, and a third sealed backup whose chain has nothing left in the bucket at all
        SealedManifests seals = new SealedManifests(() -> Map.of(
                full.backupId(), new SealedManifests.Seal(full.chainId(), sha256Of(full)),
                inc.backupId(), new SealedManifests.Seal(inc.chainId(), Sha256.of(sealedBytes)),
                "ghost", new SealedManifests.Seal("20260101T000000Z-gone", "00")));
        Set<String> onlyInc = new HashSet<>(ids(inc));
        onlyInc.removeAll(ids(full));
        assertThat(onlyInc).isNotEmpty();
        Set<String> before = storedChunks(inc.chainId());
        // deleted by mistake (a lifecycle rule, someone with delete rights): inc's own chunks would look unreferenced
        store.delete(BUCKET, key);

        GarbageCollector.Result refused = gcSealed(seals, Duration.ZERO);
        GarbageCollector.Result still = gcSealed(seals, GRACE.plusMinutes(2));
        for (GarbageCollector.Result r : List.of(refused, still)) {
            assertThat(r.sealedManifestsRefused()).containsExactly(
                    new GarbageCollector.RefusedManifest(inc.backupId(), inc.chainId(), "missing"),
                    new GarbageCollector.RefusedManifest("ghost", "20260101T000000Z-gone", "missing"));
            assertThat(r.chainsFailed()).hasSize(2).first().asString().startsWith(inc.chainId() + ": ")
                    .contains(inc.backupId(), "not in the bucket");
            assertThat(r.chunksMarked()).isZero();
            assertThat(r.chunksDeleted()).isZero();
        }
        assertThat(storedChunks(inc.chainId())).isEqualTo(before);

        // put back (from the offsite copy, a bucket version): nothing of the chain is unreferenced
        store.put(BUCKET, key, sealedBytes);
        GarbageCollector.Result back = gcSealed(seals, GRACE.multipliedBy(2).plusMinutes(3));
        assertThat(back.sealedManifestsRefused()).extracting(GarbageCollector.RefusedManifest::backupId)
                .containsExactly("ghost");
        assertThat(back.chunksMarked()).isZero();
        assertThat(storedChunks(inc.chainId())).isEqualTo(before);
        assertRestores(inc, src);
    }

    @Test
    void aSealedManifestMovedToAnotherChainIsMissingFromItsOwnAndRefusedInTheOtherNamingItsChain()
            throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<Manifest> backups = fullThenIncremental(src);
        Manifest full = backups.get(0);
        Manifest inc = backups.get(1);
        Path otherSrc = Files.createDirectories(tmp.resolve("other-src"));
        Files.write(otherSrc.resolve("c.dat"), TestData.tableText(20_000, 11));
        Manifest other = backup(otherSrc, BackupType.FULL, "other");
        assertThat(other.chainId()).isNotEqualTo(inc.chainId());
        String key = repo.layout().manifest(inc.chainId(), inc.backupId());
        byte[] sealedBytes = Repository.readAll(store, BUCKET, key, Repository.MAX_MANIFEST_BYTES, "manifest");
        SealedManifests seals = new SealedManifests(() -> Map.of(
                full.backupId(), new SealedManifests.Seal(full.chainId(), sha256Of(full)),
                inc.backupId(), new SealedManifests.Seal(inc.chainId(), Sha256.of(sealedBytes)),
                other.backupId(), new SealedManifests.Seal(other.chainId(), sha256Of(other))));
        Set<String> incChunks = storedChunks(inc.chainId());
        Set<String> otherChunks = storedChunks(other.chainId());
        store.put(BUCKET, repo.layout().manifest(other.chainId(), inc.backupId()), sealedBytes);
        store.delete(BUCKET, key);

        GarbageCollector.Result r = gcSealed(seals, GRACE.plusMinutes(2));
        assertThat(r.sealedManifestsRefused()).containsExactlyInAnyOrder(
                new GarbageCollector.RefusedManifest(inc.backupId(), inc.chainId(), "missing"),
                new GarbageCollector.RefusedManifest(inc.backupId(), other.chainId(), "mismatch"));
        assertThat(r.chainsFailed()).filteredOn(f -> f.startsWith(other.chainId() + ": ")).singleElement().asString()
                .contains("named after a backup sealed in chain " + inc.chainId());
        assertThat(r.chunksMarked()).isZero();
        assertThat(storedChunks(inc.chainId())).isEqualTo(incChunks);
        assertThat(storedChunks(other.chainId())).isEqualTo(otherChunks);
    }

    @Test
    void aSealSeenOnlyAfterThePassStartedIsCheckedBeforeTheSweepDeletes() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<Manifest> backups = fullThenIncremental(src);
        Manifest full = backups.get(0);
        Manifest inc = backups.get(1);
        String key = repo.layout().manifest(inc.chainId(), inc.backupId());
        byte[] sealedBytes = Repository.readAll(store, BUCKET, key, Repository.MAX_MANIFEST_BYTES, "manifest");
        expire(full);
        assertThat(gcAt(Duration.ZERO).chunksMarked()).isPositive();
        // inc is sealed while the next pass runs: its start does not know it, its sweep must
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        SealedManifests seals = new SealedManifests(() -> asked.incrementAndGet() == 1 ? Map.of()
                : Map.of(inc.backupId(), new SealedManifests.Seal(inc.chainId(), Sha256.of(sealedBytes))));
        store.put(BUCKET, key, ManifestEdits.listingOnly(sealedBytes, "b.bin"));

        GarbageCollector.Result r = gcSealed(seals, GRACE.plusMinutes(2));
        assertThat(asked).hasValueGreaterThan(1);
        assertThat(r.sealedManifestsRefused()).containsExactly(
                new GarbageCollector.RefusedManifest(inc.backupId(), inc.chainId(), "mismatch"));
        assertThat(r.chunksDeleted()).isZero();
    }

    @Test
    void aManifestWhoseContentNamesAnotherBackupThanItsKeyIsNotDeletedAsUnsealed() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<Manifest> backups = fullThenIncremental(src);
        Manifest full = backups.get(0);
        Manifest inc = backups.get(1);
        byte[] incBytes = Repository.readAll(store, BUCKET, repo.layout().manifest(inc.chainId(), inc.backupId()),
                Repository.MAX_MANIFEST_BYTES, "manifest");
        com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode tree =
                (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(incBytes);
        tree.put("backupId", "elsewhere");
        String stray = repo.layout().manifest(inc.chainId(), "stray");
        store.put(BUCKET, stray, mapper.writeValueAsBytes(tree));
        GarbageCollector.UnsealedManifests policy = new GarbageCollector.UnsealedManifests(
                id -> id.equals(full.backupId()) || id.equals(inc.backupId()), Duration.ofHours(1));

        GarbageCollector.Result r = gcWith(policy, Duration.ofHours(2));
        assertThat(r.unsealedManifestsDeleted()).isEmpty();
        assertThat(store.size(BUCKET, stray)).isPresent();
        assertThat(repo.manifests(inc.chainId())).extracting(Manifest::backupId)
                .containsExactlyInAnyOrder(full.backupId(), inc.backupId(), "elsewhere");
    }

    String sha256Of(Manifest m) {
        return Sha256.of(Repository.readAll(store, BUCKET, repo.layout().manifest(m.chainId(), m.backupId()),
                Repository.MAX_MANIFEST_BYTES, "manifest"));
    }

    GarbageCollector.Result gcSealed(SealedManifests seals, Duration after) {
        if (base == null) {
            base = Instant.now();
        }
        Clock at = Clock.fixed(base.plus(after), ZoneOffset.UTC);
        return new GarbageCollector(repo, new GarbageCollector.Settings(GRACE, Duration.ZERO), at)
                .withSealedManifests(seals).collect();
    }

    GarbageCollector.Result gcWith(GarbageCollector.UnsealedManifests policy, Duration after) {
        if (base == null) {
            base = Instant.now();
        }
        Clock at = Clock.fixed(base.plus(after), ZoneOffset.UTC);
        return new GarbageCollector(repo, new GarbageCollector.Settings(GRACE, Duration.ZERO), at)
                .withUnsealedManifests(policy).collect();
    }

    @Test
    void marksYoungerThanTheGracePeriodAreKept() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<Manifest> backups = fullThenIncremental(src);
        expire(backups.get(0));
        Set<String> before = storedChunks(backups.get(0).chainId());

        assertThat(gcAt(Duration.ZERO).chunksMarked()).isPositive();
        GarbageCollector.Result early = gcAt(GRACE.minusSeconds(1));
        assertThat(early.chunksMarked()).isZero(); // the marks of the first pass are kept, not renewed
        assertThat(early.chunksDeleted()).isZero();
        assertThat(early.marksPending()).isPositive();
        assertThat(storedChunks(backups.get(0).chainId())).isEqualTo(before);
    }

    @Test
    void aChunkReferencedAgainBeforeTheSweepIsKept() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<Manifest> backups = fullThenIncremental(src);
        Manifest full = backups.get(0);
        byte[] manifest = Repository.readAll(store, BUCKET, repo.layout().manifest(full.chainId(), full.backupId()),
                Repository.MAX_MANIFEST_BYTES, "manifest");
        expire(full);
        assertThat(gcAt(Duration.ZERO).chunksMarked()).isPositive();
        // a backup in flight that relied on those chunks writes its manifest (here: the same content) before the sweep
        store.put(BUCKET, repo.layout().manifest(full.chainId(), full.backupId()), manifest);
        GarbageCollector.Result late = gcAt(GRACE.plusMinutes(1));
        assertThat(late.chunksDeleted()).isZero();
        assertThat(late.marksPending()).isZero();
        assertRestores(full, restoreSourceOf(full));
    }

    /** The FULL of fullThenIncremental saw b.bin with seed 2. */
    private Path restoreSourceOf(Manifest full) throws IOException {
        Path expected = Files.createDirectories(tmp.resolve("expected-" + full.backupId()));
        Files.write(expected.resolve("a.dat"), TestData.tableText(60_000, 1));
        Files.write(expected.resolve("b.bin"), TestData.random(50_000, 2));
        return expected;
    }

    @Test
    void aChunkWrittenAgainAfterItWasMarkedIsKeptAndMarkedAfresh() throws IOException, InterruptedException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<Manifest> backups = fullThenIncremental(src);
        Manifest full = backups.get(0);
        expire(full);
        Set<String> onlyFull = new HashSet<>(ids(full));
        onlyFull.removeAll(ids(backups.get(1)));
        String rewritten = onlyFull.iterator().next();
        String key = repo.layout().chunk(full.chainId(), rewritten);

        assertThat(gcAt(Duration.ZERO).chunksMarked()).isEqualTo(onlyFull.size());
        Thread.sleep(1100); // past the mark even at S3's whole-second resolution
        byte[] bytes;
        try (InputStream in = store.open(BUCKET, key)) {
            bytes = in.readAllBytes();
        }
        // a backup that started after the expiry does not see the chunk as held and uploads it again
        store.put(BUCKET, key, bytes);

        GarbageCollector.Result swept = gcAt(GRACE.plusMinutes(1));
        assertThat(swept.chunksDeleted()).isEqualTo(onlyFull.size() - 1);
        assertThat(swept.chunksMarked()).isEqualTo(1);
        assertThat(storedChunks(full.chainId())).contains(rewritten);

        // still unreferenced a grace period after its new mark: now it goes
        GarbageCollector.Result later = gcAt(GRACE.multipliedBy(2).plusMinutes(2));
        assertThat(later.chunksDeleted()).isEqualTo(1);
        assertThat(storedChunks(full.chainId())).doesNotContain(rewritten);
        assertRestores(backups.get(1), src);
    }

    @Test
    void aChainWithNoBackupLeftIsDeletedWholeAfterTheGracePeriod() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("a.dat"), TestData.tableText(40_000, 7));
        Manifest old = backup(src, BackupType.FULL, "old");
        Files.write(src.resolve("b.dat"), TestData.tableText(30_000, 8));
        Manifest old2 = backup(src, BackupType.DIFFERENTIAL, "old-diff");
        Manifest current = backup(src, BackupType.FULL, "current");
        assertThat(repo.chains()).containsExactly(old.chainId(), current.chainId());
        long oldBytes = store.list(BUCKET, repo.layout().chunks(old.chainId())).stream()
                .mapToLong(k -> store.size(BUCKET, k).orElseThrow()).sum();

        expire(old);
        expire(old2);
        GarbageCollector.Result marked = gcAt(Duration.ZERO);
        assertThat(marked.chainsDeleted()).isEmpty();
        assertThat(marked.chunksMarked()).isEqualTo(storedChunks(old.chainId()).size());

        GarbageCollector.Result swept = gcAt(GRACE.plusMinutes(1));
        assertThat(swept.chainsDeleted()).containsExactly(old.chainId());
        assertThat(swept.bytesFreed()).isEqualTo(oldBytes);
        assertThat(store.list(BUCKET, repo.layout().chain(old.chainId()))).isEmpty();
        assertThat(store.size(BUCKET, repo.layout().chainMarker(old.chainId()))).isEmpty();
        assertThat(store.size(BUCKET, repo.layout().gcState(old.chainId()))).isEmpty();
        assertThat(repo.chains()).containsExactly(current.chainId());
        assertRestores(current, src);
    }

    @Test
    void aYoungChainWithoutManifestIsKeptLikeAFullInFlight() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("a.dat"), TestData.tableText(40_000, 9));
        Manifest full = backup(src, BackupType.FULL, "inflight");
        String manifestKey = repo.layout().manifest(full.chainId(), full.backupId());
        byte[] manifest = Repository.readAll(store, BUCKET, manifestKey, Repository.MAX_MANIFEST_BYTES, "manifest");
        // what a FULL looks like while it uploads: chunks in a new chain, no marker, no manifest yet
        store.delete(BUCKET, manifestKey);
        store.delete(BUCKET, repo.layout().chainMarker(full.chainId()));
        Set<String> chunks = storedChunks(full.chainId());

        GarbageCollector.Result first = gcAt(Duration.ZERO);
        assertThat(first.chunksMarked()).isEqualTo(chunks.size());
        GarbageCollector.Result within = gcAt(GRACE.minusMinutes(1));
        assertThat(within.chunksDeleted()).isZero();
        assertThat(within.chainsDeleted()).isEmpty();
        assertThat(storedChunks(full.chainId())).isEqualTo(chunks);

        // the FULL finishes within the grace period: its manifest makes every chunk referenced again
        store.put(BUCKET, manifestKey, manifest);
        GarbageCollector.Result after = gcAt(GRACE.plusMinutes(1));
        assertThat(after.chunksDeleted()).isZero();
        assertThat(after.chainsDeleted()).isEmpty();
        assertThat(after.marksPending()).isZero();
        assertRestores(full, src);
    }

    @Test
    void anEmptyChainIsKeptUntilItsCreationIsOlderThanTheGracePeriod() throws IOException {
        // an empty directory: the FULL has no chunk at all, so only the chain's own age and emptiness count
        Path src = Files.createDirectories(tmp.resolve("empty"));
        Manifest full = backup(src, BackupType.FULL, "empty-full");
        Files.write(src.resolve("x.dat"), TestData.tableText(10_000, 10));
        Manifest keeper = backup(src, BackupType.FULL, "keeper");
        expire(full);
        Instant created = SnapshotWriter.chainCreatedAt(full.chainId()).orElseThrow();
        assertThat(created).isBetween(start.minusSeconds(60), Instant.now());

        // first seen empty long ago (by this clock), but the chain itself is young: kept
        assertThat(gcAt(GRACE.multipliedBy(-3)).chainsDeleted()).isEmpty();
        assertThat(gcAt(GRACE.dividedBy(2)).chainsDeleted()).isEmpty();
        assertThat(repo.chains()).contains(full.chainId());
        // the chain is older than the grace period: deleted
        assertThat(gcAt(GRACE.plusMinutes(2)).chainsDeleted()).containsExactly(full.chainId());
        assertThat(repo.chains()).containsExactly(keeper.chainId());
    }
}
