package dev.lifeboat.repository.wal;

import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;

import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;

/**
 * The continuity check of a repository's archived WAL as its archiver runs it: from the start segment of the oldest
 * physical base backup the repository still holds (the WAL the oldest possible restore replays from), or from the
 * archive's first segment while there is no base backup. So a hole is reported whoever archives now: one left by an
 * earlier owner, by an archiver that started after a base backup, or by a deleted object.
 * <p>
 * The archive is listed once per check. The base backups are looked up at most every {@code baseBackupsEvery}
 * (reading every manifest costs more than a listing); when the check then finds a hole they are looked up again at
 * once, since the oldest backup may have expired and WAL retention removed the segments before the next one.
 * Not thread-safe: one archiver thread runs it.
 */
public final class WalGapCheck {
    private final Repository repo;
    private final WalArchive wal;
    private final long baseBackupsEveryNanos;
    private Optional<String> oldestBaseStart = Optional.empty();
    private long baseLookedUpAt;
    private boolean looked;

    public WalGapCheck(Repository repo, WalArchive wal, Duration baseBackupsEvery) {
        this.repo = repo;
        this.wal = wal;
        this.baseBackupsEveryNanos = baseBackupsEvery.toNanos();
    }

    /** The continuity of the archive; empty while it holds no segment and no base backup names a start. */
    public Optional<WalArchive.Continuity> check() {
        long now = System.nanoTime();
        boolean fresh = false;
        if (!looked || now - baseLookedUpAt >= baseBackupsEveryNanos) {
            lookUpBaseBackups(now);
            fresh = true;
        }
        WalArchive.Listing listing = wal.list();
        Optional<WalArchive.Continuity> result = check(listing);
        if (!fresh && result.isPresent() && !result.get().unbroken()) {
            lookUpBaseBackups(now);
            result = check(listing);
        }
        return result;
    }

    /** The start segment of the oldest physical base backup, as last looked up. */
    public Optional<String> oldestBaseBackupStart() {
        return oldestBaseStart;
    }

    private Optional<WalArchive.Continuity> check(WalArchive.Listing listing) {
        Optional<String> from = oldestBaseStart.or(() -> listing.segments().stream().findFirst())
                .or(() -> listing.partials().stream().findFirst());
        return from.map(f -> wal.continuity(f, listing));
    }

    private void lookUpBaseBackups(long now) {
        oldestBaseStart = oldestBaseBackupStart(repo);
        baseLookedUpAt = now;
        looked = true;
    }

    /**
     * The start segment of the oldest physical base backup in {@code repo} (every manifest, whatever its chain); a
     * manifest without a usable start segment is passed over here (WAL retention refuses to run on it).
     */
    public static Optional<String> oldestBaseBackupStart(Repository repo) {
        return repo.chains().stream()
                .flatMap(chain -> repo.manifests(chain).stream())
                .map(Manifest::physical)
                .filter(p -> p != null && WalNames.isSegment(p.startWalSegment()))
                .map(Manifest.Physical::startWalSegment)
                .min(Comparator.comparingLong(WalNames::position));
    }
}
