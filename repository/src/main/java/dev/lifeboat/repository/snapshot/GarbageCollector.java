package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.ObjectInfo;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Deletes the chunks that no manifest of their chain references any more, and chains that have no manifest left
 * (their chunks, their marker in the chain index, their GC state). Two phases per chain, with a grace period:
 *
 * <ol>
 *   <li><b>mark</b>: every chunk that no manifest of the chain references now gets a mark with the time it was first
 *       seen unreferenced; a chunk that is referenced again loses its mark. Marks are stored in the repository itself
 *       ({@code <prefix>/gc/<chainId>.json}), so they survive restarts and any worker can continue them;</li>
 *   <li><b>sweep</b>: a mark older than the grace period is deleted only if the chunk is <em>still</em> unreferenced
 *       by the manifests listed at sweep time, and only if the chunk object was not (re)written after it was marked
 *       (its last-modified time, minus a clock tolerance). A chunk written again is marked afresh instead.</li>
 * </ol>
 *
 * <p><b>Why a grace period, not a lease.</b> A backup in flight holds no lock that GC could see: the writer decides
 * which chunks the chain already holds from the manifests it reads at its start, uploads the rest, and writes its
 * own manifest last. If it relies on a chunk whose last manifest is deleted after the writer's start, that chunk is
 * first seen unreferenced after the writer started; with a grace period longer than any backup, the writer's
 * manifest exists (and references the chunk again) before the mark is old enough to sweep. A writer that starts after
 * the deletion does not see the chunk as held and uploads it again, which the last-modified check catches. A chain
 * with no manifest is deleted only once it was created (its id carries the time) and seen empty more than the grace
 * period ago: a FULL in flight writes chunks into its new chain long before its marker and manifest exist, and an
 * INCREMENTAL in flight may extend a chain whose manifests were all just expired.
 *
 * <p><b>Manifests that were never sealed.</b> A writer that dies after writing its manifest and before the backup was
 * sealed (storage-worker records which backups it sealed; the repository does not) leaves a manifest that nobody
 * restores from but that keeps its chunks alive. Given {@link UnsealedManifests}, a pass deletes such a manifest once
 * it is older than that grace period (a redelivered request announces it well within it); its chunks then go the
 * way of any unreferenced chunk, with the grace period above.
 *
 * <p><b>Manifests that were sealed.</b> Manifests are plain JSON in a bucket that is not trusted: one rewritten there to
 * list fewer chunks, or deleted, would get the chunks it no longer lists collected. Given {@link SealedManifests}, the
 * manifest of a sealed backup counts only with the bytes it was sealed with, in the chain it was sealed in; one that
 * is not the one sealed, is over the manifest cap, cannot be read now or is missing (every sealed backup not deleted
 * must be found: the seals, not the bucket's listing, say which manifests a chain has) stops its chain before
 * anything of it is deleted (no unsealed manifest, no chunk, not the chain), and so does a manifest named after a
 * backup sealed in another chain. Each is reported in {@link Result#sealedManifestsRefused()} and
 * {@link Result#chainsFailed()}, and tried again by the next pass. Chunks belong to one chain, so the other chains go
 * on. The seals are asked at the start of the pass and again right before a chain's sweep deletes anything, so a
 * backup sealed while a long pass runs is checked too.
 *
 * <p><b>What it does not cover (residual races).</b> (1) A backup that runs longer than the grace period may lose a
 * chunk it relied on; the quick verification at sealing then fails it (BackupFailed), so nothing is sealed with a
 * missing chunk, but that backup is lost: keep the grace period well above the longest backup. (2) A writer that
 * uploads the same chunk again in the instant between the sweep's last-modified check and its delete loses it the
 * same way (also caught by the quick verification). (3) The last-modified check trusts the store's and this host's
 * clocks to agree within {@code clockTolerance}. (4) Passes on one repository are serialized inside one JVM only; two
 * processes collecting the same repository at once can overwrite each other's marks, which delays deletion but never
 * makes a referenced or re-written chunk deletable (every delete re-checks all conditions itself). (5) A chunk that
 * becomes referenced by a new manifest and unreferenced again between two passes keeps its old mark, so a writer that
 * started in between relying on it could lose it; that needs a manifest written and expired while a later backup of
 * the same chain runs, which retention (never the newest backup) and one-at-a-time backups per source rule out, but
 * several independent writers into one repository would not.
 */
public final class GarbageCollector {
    private static final Logger LOG = Logger.getLogger(GarbageCollector.class);
    private static final Map<String, Object> LOCKS = new ConcurrentHashMap<>();

    /** Default grace period: longer than the longest backup. */
    public static final Duration DEFAULT_GRACE = Duration.ofHours(6);
    /** Default allowance between this host's clock and the store's last-modified times (S3 reports whole seconds). */
    public static final Duration DEFAULT_CLOCK_TOLERANCE = Duration.ofSeconds(5);

    /**
     * @param grace          how old a mark (and an empty chain) must be before it is swept; longer than any backup
     * @param clockTolerance a chunk modified later than {@code mark - clockTolerance} counts as written after its mark
     */
    public record Settings(Duration grace, Duration clockTolerance) {
        public Settings {
            if (grace.isNegative() || clockTolerance.isNegative()) {
                throw new IllegalArgumentException("grace and clock tolerance must not be negative");
            }
        }

        public static Settings withGrace(Duration grace) {
            return new Settings(grace, DEFAULT_CLOCK_TOLERANCE);
        }
    }

    /**
     * Which backups were sealed, and how long a manifest may wait to be sealed before it counts as left behind by a
     * writer that died. {@code sealed} is asked about each old manifest right before it would be deleted.
     */
    public record UnsealedManifests(Predicate<String> sealed, Duration grace) {
        public UnsealedManifests {
            if (grace.isNegative()) {
                throw new IllegalArgumentException("grace of unsealed manifests must not be negative");
            }
        }
    }

    /**
     * A sealed backup's manifest that stopped the pass over its chain ({@link SealedManifestRefusedException}).
     *
     * @param reason {@link SealedManifestRefusedException.Reason#tag()}; the whole reason is in the chain's failure
     */
    public record RefusedManifest(String backupId, String chainId, String reason) {
    }

    /**
     * What one pass did.
     *
     * @param chunksMarked   chunks newly marked unreferenced (including chunks marked again after being re-written)
     * @param chunksDeleted  chunks swept
     * @param bytesFreed     stored bytes of the swept chunks
     * @param chainsDeleted  chains deleted whole (no manifest, old enough), by id
     * @param chainsScanned  chains looked at
     * @param chainsFailed   chains skipped because of an error ("chainId: message"); nothing of theirs was deleted
     * @param marksPending   marks left waiting for the grace period after this pass
     * @param unsealedManifestsDeleted backup ids whose manifests were deleted because they were never sealed
     * @param sealedManifestsRefused manifests of sealed backups not read as sealed: their chains were skipped whole
     */
    public record Result(String location, long chunksMarked, long chunksDeleted, long bytesFreed,
                         List<String> chainsDeleted, int chainsScanned, List<String> chainsFailed, long marksPending,
                         long durationMs, List<String> unsealedManifestsDeleted,
                         List<RefusedManifest> sealedManifestsRefused) {
        public Result {
            chainsDeleted = List.copyOf(chainsDeleted);
            chainsFailed = List.copyOf(chainsFailed);
            unsealedManifestsDeleted = List.copyOf(unsealedManifestsDeleted);
            sealedManifestsRefused = List.copyOf(sealedManifestsRefused);
        }
    }

    /** The stored marks of one chain: chunk id -> when it was first seen unreferenced; when the chain was seen empty. */
    record ChainMarks(String chainId, Instant emptySince, Map<String, Instant> chunks) {
        ChainMarks {
            chunks = chunks == null ? new TreeMap<>() : new TreeMap<>(chunks);
        }
    }

    private final Repository repo;
    private final Settings settings;
    private final Clock clock;
    private final UnsealedManifests unsealed;
    private final SealedManifests seals;

    GarbageCollector(Repository repo, Settings settings, Clock clock) {
        this(repo, settings, clock, null, null);
    }

    private GarbageCollector(Repository repo, Settings settings, Clock clock, UnsealedManifests unsealed,
                             SealedManifests seals) {
        this.repo = repo;
        this.settings = settings;
        this.clock = clock;
        this.unsealed = unsealed;
        this.seals = seals;
    }

    /** This collector, also deleting manifests that were never sealed (see the class comment). */
    public GarbageCollector withUnsealedManifests(UnsealedManifests policy) {
        return new GarbageCollector(repo, settings, clock, policy, seals);
    }

    /** This collector, taking sealed backups' manifests only as sealed (see the class comment). */
    public GarbageCollector withSealedManifests(SealedManifests sealed) {
        return new GarbageCollector(repo, settings, clock, unsealed, sealed);
    }

    /** One mark-and-sweep pass over every chain of the repository. */
    public Result collect() {
        long started = System.nanoTime();
        synchronized (LOCKS.computeIfAbsent(repo.location(), k -> new Object())) {
            Totals totals = new Totals();
            totals.seals = seals();
            Set<String> chainIds = chainIds();
            for (String chainId : chainIds) {
                try {
                    collectChain(chainId, totals);
                } catch (SealedManifestRefusedException e) {
                    totals.chainsFailed.add(chainId + ": " + e.getMessage());
                    totals.sealedRefused.add(new RefusedManifest(e.backupId(), e.chainId(), e.reason().tag()));
                    LOG.warnf("gc of %s: chain %s skipped, nothing of it deleted, the next pass tries again: %s",
                            repo.location(), chainId, e.getMessage());
                } catch (RuntimeException e) {
                    // e.g. an unreadable manifest: nothing of this chain is deleted, the other chains go on
                    totals.chainsFailed.add(chainId + ": " + e.getMessage());
                    LOG.warnf(e, "gc of %s: chain %s skipped", repo.location(), chainId);
                }
            }
            refuseChainsGoneWhole(chainIds, totals);
            Result result = new Result(repo.location(), totals.marked, totals.deleted, totals.bytes,
                    totals.chainsDeleted, totals.scanned, totals.chainsFailed, totals.pending,
                    (System.nanoTime() - started) / 1_000_000, totals.unsealedDeleted, totals.sealedRefused);
            LOG.infof("gc of %s: %d chains scanned, %d chunks marked, %d chunks deleted (%d bytes), chains deleted %s,"
                            + " %d marks waiting for the %s grace period, %d chains failed, unsealed manifests "
                            + "deleted %s, sealed manifests refused %s", result.location(),
                    result.chainsScanned(), result.chunksMarked(), result.chunksDeleted(), result.bytesFreed(),
                    result.chainsDeleted(), result.marksPending(), settings.grace(), result.chainsFailed().size(),
                    result.unsealedManifestsDeleted(), result.sealedManifestsRefused());
            return result;
        }
    }

    /** The seals as they are now; none when this collector was given no {@link SealedManifests}. */
    private Map<String, SealedManifests.Seal> seals() {
        return seals == null ? Map.of() : Map.copyOf(seals.byBackupId().get());
    }

    /**
     * A sealed backup whose chain has nothing at all in the bucket (no marker, no object, no GC state) has nothing
     * left to collect, but its manifest is missing all the same: reported like one missing from a chain that is there.
     */
    private void refuseChainsGoneWhole(Set<String> chainIds, Totals totals) {
        Map<String, String> firstByChain = new TreeMap<>();
        totals.seals.forEach((backupId, seal) -> {
            if (!chainIds.contains(seal.chainId())) {
                firstByChain.merge(seal.chainId(), backupId, (a, b) -> a.compareTo(b) <= 0 ? a : b);
            }
        });
        firstByChain.forEach((chainId, backupId) -> {
            String why = "the manifest of sealed backup " + backupId + " (chain " + chainId + ") is not read as "
                    + "sealed: its chain has nothing in the bucket, and the backup is not recorded as deleted";
            totals.chainsFailed.add(chainId + ": " + why);
            totals.sealedRefused.add(new RefusedManifest(backupId, chainId,
                    SealedManifestRefusedException.Reason.MISSING.tag()));
            LOG.warnf("gc of %s: %s", repo.location(), why);
        });
    }

    private static final class Totals {
        /** Backup id to its seal, as asked at the start of the pass or, later, before a sweep. */
        Map<String, SealedManifests.Seal> seals;
        long marked;
        long deleted;
        long bytes;
        long pending;
        int scanned;
        final List<String> chainsDeleted = new ArrayList<>();
        final List<String> chainsFailed = new ArrayList<>();
        final List<String> unsealedDeleted = new ArrayList<>();
        final List<RefusedManifest> sealedRefused = new ArrayList<>();
    }

    /** Every chain that has anything: objects under chains/ (also a FULL in flight), a marker, or GC state. */
    private Set<String> chainIds() {
        Layout layout = repo.layout();
        Set<String> ids = new TreeSet<>(repo.chains());
        for (String key : repo.store().list(repo.bucket(), layout.chainsRoot())) {
            String rest = key.substring(layout.chainsRoot().length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                ids.add(rest.substring(0, slash));
            }
        }
        for (String key : repo.store().list(repo.bucket(), layout.gcRoot())) {
            String rest = key.substring(layout.gcRoot().length());
            if (rest.endsWith(".json") && !rest.contains("/")) {
                ids.add(rest.substring(0, rest.length() - ".json".length()));
            }
        }
        return ids;
    }

    private void collectChain(String chainId, Totals totals) {
        totals.scanned++;
        Instant now = clock.instant();
        ChainMarks stored = readMarks(chainId);
        Map<String, Instant> marks = new TreeMap<>(stored.chunks());
        Instant emptySince = stored.emptySince();
        // every sealed manifest checked before anything of the chain is deleted, an unsealed manifest included
        List<Repository.ListedManifest> manifests = repo.listManifests(chainId, totals.seals);
        if (unsealed != null) {
            manifests = deleteUnsealedManifests(chainId, manifests, now, totals);
        }

        // mark: what the manifests just read reference (the sweep reads them again before it deletes anything)
        Set<String> referenced = chunkIds(manifests.stream().map(Repository.ListedManifest::manifest).toList());
        Map<String, String> chunks = chunkKeys(chainId);
        marks.keySet().retainAll(chunks.keySet());
        for (String id : chunks.keySet()) {
            if (referenced.contains(id)) {
                marks.remove(id);
            } else if (marks.putIfAbsent(id, now) == null) {
                totals.marked++;
            }
        }

        // sweep
        Instant due = now.minus(settings.grace());
        List<String> ripe = marks.entrySet().stream().filter(e -> !e.getValue().isAfter(due)).map(Map.Entry::getKey)
                .toList();
        boolean empty = referenced.isEmpty() && noManifests(chainId);
        if (!ripe.isEmpty()) {
            // the manifests as they are now, not as they were when the marks were made or at the start of this pass;
            // checked against the seals as they are now, too: a backup sealed since the start must be found as sealed
            if (seals != null) {
                totals.seals = seals();
            }
            Set<String> stillReferenced = referenced(chainId, totals);
            empty = stillReferenced.isEmpty() && noManifests(chainId);
            for (String id : ripe) {
                Instant markedAt = marks.get(id);
                if (stillReferenced.contains(id)) {
                    marks.remove(id);
                    continue;
                }
                String key = chunks.get(id);
                Optional<ObjectInfo> info = repo.store().stat(repo.bucket(), key);
                if (info.isEmpty()) {
                    marks.remove(id);
                } else if (info.get().lastModified().isAfter(markedAt.minus(settings.clockTolerance()))) {
                    // written again after the mark: a backup that started after the expiry uploaded it anew
                    marks.put(id, now);
                    totals.marked++;
                } else {
                    repo.store().delete(repo.bucket(), key);
                    marks.remove(id);
                    chunks.remove(id);
                    totals.deleted++;
                    totals.bytes += info.get().size();
                }
            }
        }

        if (!empty) {
            emptySince = null;
        } else if (emptySince == null) {
            emptySince = now;
        }
        if (empty && chunks.isEmpty() && !emptySince.isAfter(due) && createdBefore(chainId, due)
                && noManifests(chainId) && chunkKeys(chainId).isEmpty()) {
            repo.store().delete(repo.bucket(), repo.layout().chainMarker(chainId));
            repo.store().delete(repo.bucket(), repo.layout().gcState(chainId));
            totals.chainsDeleted.add(chainId);
            LOG.infof("gc of %s: chain %s has no backups left since %s and was deleted", repo.location(), chainId,
                    emptySince);
            return;
        }
        totals.pending += marks.size();
        ChainMarks next = new ChainMarks(chainId, emptySince, marks);
        if (!next.equals(stored)) {
            if (marks.isEmpty() && emptySince == null) {
                repo.store().delete(repo.bucket(), repo.layout().gcState(chainId));
            } else {
                repo.store().put(repo.bucket(), repo.layout().gcState(chainId), Json.write(next));
            }
        }
    }

    /** Deletes the manifests never sealed past their grace period; returns the others. */
    private List<Repository.ListedManifest> deleteUnsealedManifests(String chainId,
                                                                    List<Repository.ListedManifest> manifests,
                                                                    Instant now, Totals totals) {
        Instant due = now.minus(unsealed.grace());
        List<Repository.ListedManifest> kept = new ArrayList<>();
        for (Repository.ListedManifest listed : manifests) {
            Manifest m = listed.manifest();
            if (!listed.backupId().equals(m.backupId()) || !chainId.equals(m.chainId())) {
                // not what its key says: whose it is, and whether it was sealed, is not known; kept
                LOG.warnf("gc of %s: s3://%s/%s describes backup %s of chain %s, not what its key names; kept",
                        repo.location(), repo.bucket(), listed.key(), m.backupId(), m.chainId());
                kept.add(listed);
                continue;
            }
            // asked per manifest, as late as possible: a seal may land while the pass runs
            if (m.createdAt().isAfter(due) || unsealed.sealed().test(m.backupId())) {
                kept.add(listed);
                continue;
            }
            repo.store().delete(repo.bucket(), listed.key());
            totals.unsealedDeleted.add(m.backupId());
            LOG.warnf("gc of %s: backup %s (%s, chain %s) was written at %s and never sealed; its manifest was "
                            + "deleted after the %s grace period, its chunks follow once unreferenced", repo.location(),
                    m.backupId(), m.type(), chainId, m.createdAt(), unsealed.grace());
        }
        return kept;
    }

    private boolean createdBefore(String chainId, Instant due) {
        Optional<Instant> created = SnapshotWriter.chainCreatedAt(chainId);
        if (created.isEmpty()) {
            LOG.warnf("gc of %s: chain id %s carries no creation time; the empty chain is kept", repo.location(),
                    chainId);
            return false;
        }
        return !created.get().isAfter(due);
    }

    private Set<String> referenced(String chainId, Totals totals) {
        return chunkIds(repo.manifests(chainId, totals.seals));
    }

    private static Set<String> chunkIds(List<Manifest> manifests) {
        Set<String> ids = new HashSet<>();
        for (Manifest m : manifests) {
            for (Manifest.FileEntry f : m.files()) {
                for (Manifest.ChunkRef c : f.chunks()) {
                    ids.add(c.id());
                }
            }
        }
        return ids;
    }

    private boolean noManifests(String chainId) {
        return repo.store().list(repo.bucket(), repo.layout().manifests(chainId)).stream()
                .noneMatch(k -> k.endsWith(".json"));
    }

    /** chunk id -> object key of every chunk stored in the chain. */
    private Map<String, String> chunkKeys(String chainId) {
        String root = repo.layout().chunks(chainId);
        Map<String, String> out = new HashMap<>();
        for (String key : repo.store().list(repo.bucket(), root)) {
            String id = key.substring(key.lastIndexOf('/') + 1);
            if (id.length() >= 2 && key.equals(repo.layout().chunk(chainId, id))) {
                out.put(id, key);
            }
        }
        return out;
    }

    private ChainMarks readMarks(String chainId) {
        String key = repo.layout().gcState(chainId);
        if (repo.store().size(repo.bucket(), key).isEmpty()) {
            return new ChainMarks(chainId, null, Map.of());
        }
        try {
            return Json.read(Repository.readAll(repo.store(), repo.bucket(), key, repo.maxManifestBytes(),
                    "garbage-collection record"), ChainMarks.class, key);
        } catch (dev.lifeboat.repository.blob.ObjectNotFoundException e) {
            return new ChainMarks(chainId, null, Map.of());
        }
    }
}
