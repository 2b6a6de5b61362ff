package dev.lifeboat.repository.wal;

import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.SealedManifestRefusedException;
import dev.lifeboat.repository.snapshot.SealedManifests;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Deletes the archived WAL ({@link WalArchive}) that no base backup of the repository needs any more. A point-in-time
 * restore starts from a physical base backup and replays WAL from that backup's start segment on, up to any later
 * point; so every segment from the start segment of the <em>oldest</em> physical base backup still present (every
 * manifest, whatever its chain, sealed or not) on is kept, on every timeline, and the rest goes. Timeline history
 * files are always kept.
 *
 * <p>A repository with WAL but no physical base backup (the archiver started before the first base backup, or every
 * base backup expired) keeps all of it: whether a future base backup could use it is not known yet, and deleting it
 * cannot be undone. WAL written less than {@code minAge} ago is never deleted: a base backup being written has no
 * manifest yet, and the segment it starts from must outlive the expiry of the backups before it.
 *
 * <p>An archive moved aside when its cluster was replaced ({@link WalArchive#retire}) serves only base backups of
 * that cluster: it is pruned before the oldest start among them, and deleted whole once none is left (its newest
 * object older than {@code minAge}). A base backup whose manifest names no cluster could be of any, so it keeps
 * every retired archive's WAL from its start on. A retired archive whose identity record does not name the cluster
 * its directory is named after is kept whole.
 *
 * <p>A manifest that cannot be read, or a physical one without a usable start segment, stops the pass before
 * anything is deleted: the oldest start would be a guess. Given {@link SealedManifests}, so does the manifest of a
 * sealed backup that is not the one sealed (one rewritten in the bucket to claim a later start would get the WAL its
 * backup needs deleted), is over the manifest cap, cannot be read now, is in another chain than the one sealed, or
 * is missing ({@link SealedManifestRefusedException}, naming the backup); the next pass tries again. Missing is
 * judged against the seals, not against what the bucket lists: the chains walked are those with a marker and those
 * of every sealed backup, so a manifest deleted, or a chain marker deleted, cannot move the keep-point past the
 * start of a backup that is still sealed (WAL is not copied offsite: what goes is gone).
 */
public final class WalCollector {
    private static final Logger LOG = Logger.getLogger(WalCollector.class);

    /** Default of {@code minAge}: as long as the chunk grace period, longer than the longest base backup. */
    public static final Duration DEFAULT_MIN_AGE = Duration.ofHours(6);

    /**
     * What one pass did.
     *
     * @param oldestBaseBackup the backup id of the physical base backup with the oldest start; null when there is none
     * @param keptFrom         the segment kept from on; null when every WAL file was kept (no base backup)
     * @param baseBackups      physical base backups found
     * @param segmentsDeleted  complete segments deleted
     * @param partialsDeleted  partial segments deleted
     * @param otherDeleted     backup history files deleted
     * @param keptYoung        WAL files before {@code keptFrom} kept because they are younger than the minimum age
     */
    public record Result(String location, String oldestBaseBackup, String keptFrom, int baseBackups,
                         int segmentsDeleted, int partialsDeleted, int otherDeleted, int keptYoung, long durationMs,
                         List<RetiredResult> retired) {
        public Result {
            retired = List.copyOf(retired);
        }
    }

    /**
     * What one pass did to one retired archive.
     *
     * @param keptFrom        the segment kept from on; null when the archive was deleted whole or kept whole
     * @param deletedWhole    no base backup of its cluster is left: every object of it was deleted
     * @param objectsDeleted  objects deleted (segments, partials, history files, its identity record)
     */
    public record RetiredResult(String location, String systemIdentifier, String keptFrom, boolean deletedWhole,
                                int objectsDeleted) {
    }

    private final Repository repo;
    private final WalArchive wal;
    private final Duration minAge;
    private final Clock clock;
    private final SealedManifests seals;

    public WalCollector(Repository repo, Duration minAge, Clock clock) {
        this(repo, minAge, clock, null);
    }

    private WalCollector(Repository repo, Duration minAge, Clock clock, SealedManifests seals) {
        if (minAge.isNegative()) {
            throw new IllegalArgumentException("minimum age of WAL must not be negative");
        }
        this.repo = repo;
        // the segment size only matters to continuity; pruning compares positions, valid for any size
        this.wal = repo.wal();
        this.minAge = minAge;
        this.clock = clock;
        this.seals = seals;
    }

    /** This collector, taking sealed backups' manifests only as sealed (see the class comment). */
    public WalCollector withSealedManifests(SealedManifests sealed) {
        return new WalCollector(repo, minAge, clock, sealed);
    }

    /** One pass over the repository's WAL archive. */
    public Result collect() {
        long started = System.nanoTime();
        Map<String, SealedManifests.Seal> sealed = seals == null ? Map.of() : Map.copyOf(seals.byBackupId().get());
        Set<String> chains = new TreeSet<>(repo.chains());
        sealed.values().forEach(seal -> chains.add(seal.chainId()));
        List<Manifest> base = new ArrayList<>();
        for (String chainId : chains) {
            List<Manifest> manifests;
            try {
                manifests = repo.manifests(chainId, sealed);
            } catch (SealedManifestRefusedException e) {
                LOG.warnf("wal retention of %s: stopped before deleting any WAL, the next pass tries again: %s",
                        repo.location(), e.getMessage());
                throw e;
            }
            for (Manifest m : manifests) {
                if (m.physical() != null) {
                    base.add(m);
                }
            }
        }
        if (base.isEmpty()) {
            WalArchive.Listing held = wal.list();
            if (!held.segments().isEmpty() || !held.partials().isEmpty()) {
                LOG.infof("wal retention of %s: no physical base backup in the repository, so all %d archived WAL "
                                + "segments (and %d partial) are kept: a restore needs a base backup to start from and "
                                + "a future one may start in them", repo.location(), held.segments().size(),
                        held.partials().size());
            }
            return new Result(repo.location(), null, null, 0, 0, 0, 0, 0, elapsedMs(started), List.of());
        }
        for (Manifest m : base) {
            startSegment(m);
        }
        Manifest oldest = base.stream().min(Comparator.comparingLong((Manifest m) -> WalNames.position(startSegment(m)))
                .thenComparing(Manifest::createdAt)).orElseThrow();
        String keptFrom = startSegment(oldest);
        WalArchive.Pruned pruned = wal.pruneBefore(keptFrom, clock.instant().minus(minAge));
        List<RetiredResult> retired = new ArrayList<>();
        for (WalArchive archive : wal.retired()) {
            retired.add(collectRetired(archive, base));
        }
        Result result = new Result(repo.location(), oldest.backupId(), keptFrom, base.size(), pruned.segments(),
                pruned.partials(), pruned.backupHistories(), pruned.keptYoung(), elapsedMs(started), retired);
        LOG.infof("wal retention of %s: kept from %s, the start of base backup %s (oldest of %d, chain %s); deleted "
                        + "%d segments, %d partial segments, %d backup history files; %d older files kept for being "
                        + "younger than %s", repo.location(), keptFrom, oldest.backupId(), base.size(),
                oldest.chainId(), result.segmentsDeleted(), result.partialsDeleted(), result.otherDeleted(),
                result.keptYoung(), minAge);
        return result;
    }

    private RetiredResult collectRetired(WalArchive archive, List<Manifest> base) {
        String cluster = archive.identity().map(WalArchive.Identity::systemIdentifier).orElse(null);
        String named = archive.retiredIdentifier().orElse(null);
        if (cluster == null || !cluster.equals(named)) {
            // a record copied in from another archive would make base backups of the wrong cluster decide
            LOG.warnf("wal retention of %s: retired archive %s is kept whole: its directory names cluster %s but its "
                            + "identity record %s; check who wrote to the bucket", repo.location(), archive.location(),
                    named, cluster == null ? "is missing" : "names " + cluster);
            return new RetiredResult(archive.location(), cluster, null, false, 0);
        }
        List<Manifest> served = base.stream().filter(m -> m.physical().systemIdentifier() == null
                || m.physical().systemIdentifier().isBlank() || cluster.equals(m.physical().systemIdentifier()))
                .toList();
        java.time.Instant writtenBefore = clock.instant().minus(minAge);
        if (served.isEmpty()) {
            int deleted = archive.deleteAll(writtenBefore);
            boolean whole = deleted >= 0;
            LOG.infof("wal retention of %s: retired archive %s of cluster %s serves no base backup left; %s",
                    repo.location(), archive.location(), cluster, whole ? "deleted its " + deleted + " objects"
                            : "kept, for having objects younger than " + minAge);
            return new RetiredResult(archive.location(), cluster, null, whole, Math.max(0, deleted));
        }
        String keptFrom = served.stream().map(this::startSegment).min(Comparator.comparingLong(WalNames::position))
                .orElseThrow();
        WalArchive.Pruned pruned = archive.pruneBefore(keptFrom, writtenBefore);
        int deleted = pruned.segments() + pruned.partials() + pruned.backupHistories();
        if (deleted > 0) {
            LOG.infof("wal retention of %s: retired archive %s of cluster %s kept from %s for %d base backups; "
                    + "deleted %d objects", repo.location(), archive.location(), cluster, keptFrom, served.size(),
                    deleted);
        }
        return new RetiredResult(archive.location(), cluster, keptFrom, false, deleted);
    }

    private String startSegment(Manifest m) {
        String segment = m.physical().startWalSegment();
        if (!WalNames.isSegment(segment)) {
            throw new IllegalStateException("physical base backup " + m.backupId() + " (chain " + m.chainId()
                    + ") in " + repo.location() + " records no usable start WAL segment ("
                    + (segment == null ? "none" : "'" + segment.replaceAll("[^\\x20-\\x7e]", "?") + "'")
                    + "); no WAL was deleted, since the oldest start cannot be told");
        }
        return segment;
    }

    private static long elapsedMs(long started) {
        return (System.nanoTime() - started) / 1_000_000;
    }
}
