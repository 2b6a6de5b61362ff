package dev.lifeboat.storage.service;

import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.repository.snapshot.GarbageCollector;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.SealedManifestRefusedException;
import dev.lifeboat.repository.snapshot.SealedManifests;
import dev.lifeboat.repository.wal.WalCollector;
import dev.lifeboat.storage.config.GcConfig;
import dev.lifeboat.storage.repository.SealedBackup;
import dev.lifeboat.storage.repository.SealedBackupRepository;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Runs garbage-collection passes ({@link GarbageCollector}: delete manifests never sealed within
 * {@code lifeboat.gc.unsealed-grace}, mark unreferenced chunks, sweep marks older than the grace period that are still
 * unreferenced and were not written again, delete chains left without backups) over the
 * repositories this worker knows: those of every backup it sealed. A pass runs after each BackupsExpired on the
 * repositories it touched (queued with the deletion, run by {@link StorageJobRunner}), on a schedule ({@code lifeboat.gc.interval}) over all of them, and on
 * {@code POST /api/v1/gc}. Passes over one repository never overlap within this process.
 *
 * <p>Each pass also applies WAL retention to the repository ({@link WalCollector}): the archived WAL before the start
 * segment of the oldest physical base backup left is deleted, once older than {@code lifeboat.gc.wal-min-age}; a
 * repository without a physical base backup keeps all of its WAL. So expiring a physical backup frees its WAL with the
 * pass queued by its deletion.
 *
 * <p>Both read the manifest of a backup this worker sealed (and has not deleted) only as sealed: with the SHA-256
 * recorded at sealing, in the chain its manifest key was recorded in, like restores, full verifications and offsite
 * copies do. One rewritten in the bucket (to list fewer chunks, or to claim a later WAL start), over the manifest cap,
 * unreadable now, or missing from the bucket (deleted; or its chain marker deleted) collects no chunk of its chain and
 * no WAL of its repository in that pass; the result names the backup and why, the metric
 * {@code lifeboat.gc.sealed-manifests.refused} counts it, and the next pass tries again. A backup expiring right now
 * may be refused as missing by one pass ({@link DeletionService} deletes the manifest, then records the deletion).
 */
@ApplicationScoped
public class GarbageCollectionService {
    private static final Logger LOG = Logger.getLogger(GarbageCollectionService.class);

    private final Repositories repositories;
    private final SealedBackupRepository sealed;
    private final GcConfig config;
    private final StorageMetrics metrics;

    public GarbageCollectionService(Repositories repositories, SealedBackupRepository sealed, GcConfig config,
                                    StorageMetrics metrics) {
        this.repositories = repositories;
        this.sealed = sealed;
        this.config = config;
        this.metrics = metrics;
    }

    /** A repository: bucket and prefix (the part of a manifest key before {@code /chains/}). */
    public record Location(String bucket, String prefix) implements Comparable<Location> {
        @Override
        public int compareTo(Location o) {
            int b = bucket.compareTo(o.bucket);
            return b != 0 ? b : prefix.compareTo(o.prefix);
        }

        /** The repository of the first chunked manifest named {@code s3://bucket/key} among deleted objects. */
        public static Optional<Location> ofDeletedObjects(List<String> objects) {
            for (String o : objects == null ? List.<String>of() : objects) {
                if (o.startsWith("s3://") && o.indexOf('/', 5) > 5) {
                    int slash = o.indexOf('/', 5);
                    Optional<Location> at = ofManifest(o.substring(5, slash), o.substring(slash + 1));
                    if (at.isPresent()) {
                        return at;
                    }
                }
            }
            return Optional.empty();
        }

        /** The repository of a chunked manifest at {@code s3://bucket/manifestKey}, if it is one. */
        public static Optional<Location> ofManifest(String bucket, String manifestKey) {
            return ManifestLocation.parse(manifestKey).map(m -> new Location(bucket, m.prefix()));
        }
    }

    /**
     * One pass over several repositories: each repository's result (chunks and chains; WAL), failures by location,
     * and the totals. {@code walSegmentsDeleted} counts complete and partial segments.
     */
    public record Run(List<GarbageCollector.Result> repositories, List<WalCollector.Result> wal, List<String> failures,
                      long chunksMarked, long chunksDeleted, long bytesFreed, int chainsDeleted,
                      long walSegmentsDeleted) {
        static Run of(List<GarbageCollector.Result> results, List<WalCollector.Result> wal, List<String> failures) {
            return new Run(List.copyOf(results), List.copyOf(wal), List.copyOf(failures),
                    results.stream().mapToLong(GarbageCollector.Result::chunksMarked).sum(),
                    results.stream().mapToLong(GarbageCollector.Result::chunksDeleted).sum(),
                    results.stream().mapToLong(GarbageCollector.Result::bytesFreed).sum(),
                    results.stream().mapToInt(r -> r.chainsDeleted().size()).sum(),
                    wal.stream().mapToLong(r -> r.segmentsDeleted() + r.partialsDeleted()).sum());
        }
    }

    /** The repositories of every chunked backup this worker sealed (deleted ones included). */
    public Set<Location> knownRepositories() {
        Set<Location> out = new TreeSet<>();
        for (String[] row : sealed.chunkedManifestKeys()) {
            Location.ofManifest(row[0], row[1]).ifPresent(out::add);
        }
        return out;
    }

    /** One pass over every known repository; a repository that fails is reported and the others still run. */
    @WithSpan("GarbageCollectionService.collectAll")
    public Run collectAll() {
        return collect(knownRepositories());
    }

    @WithSpan("GarbageCollectionService.collect")
    public Run collect(Collection<Location> locations) {
        List<GarbageCollector.Result> results = new ArrayList<>();
        List<WalCollector.Result> wal = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (Location at : new TreeSet<>(locations)) {
            try {
                collect(at).ifPresent(results::add);
            } catch (RuntimeException e) {
                metrics.gcFailed();
                failures.add("s3://" + at.bucket() + "/" + at.prefix() + ": " + e.getMessage());
                LOG.warnf(e, "gc of s3://%s/%s failed; the next pass continues from the stored marks", at.bucket(),
                        at.prefix());
            }
            try {
                collectWal(at).ifPresent(wal::add);
            } catch (RuntimeException e) {
                metrics.gcFailed();
                failures.add("WAL of s3://" + at.bucket() + "/" + at.prefix() + ": " + e.getMessage());
                LOG.warnf(e, "wal retention of s3://%s/%s failed; its WAL stays until a pass succeeds", at.bucket(),
                        at.prefix());
            }
        }
        Run run = Run.of(results, wal, failures);
        Span.current().setAttribute("lifeboat.gc.chunks_deleted", run.chunksDeleted());
        Span.current().setAttribute("lifeboat.gc.bytes_freed", run.bytesFreed());
        Span.current().setAttribute("lifeboat.gc.wal_segments_deleted", run.walSegmentsDeleted());
        return run;
    }

    /** One pass over one repository; empty when there is no repository at that location. */
    public Optional<GarbageCollector.Result> collect(Location at) {
        Optional<Repository> repository = repositories.open(at.bucket(), at.prefix());
        if (repository.isEmpty()) {
            LOG.infof("gc: no repository at s3://%s/%s, nothing to collect", at.bucket(), at.prefix());
            return Optional.empty();
        }
        GarbageCollector.Result result = repository.get()
                .garbageCollector(new GarbageCollector.Settings(config.grace(), config.clockTolerance()))
                .withUnsealedManifests(new GarbageCollector.UnsealedManifests(this::sealedOrNotOurs,
                        config.unsealedGrace()))
                .withSealedManifests(sealedManifests(repository.get()))
                .collect();
        metrics.gc(result);
        return Optional.of(result);
    }

    /** WAL retention of one repository; empty when there is no repository at that location. */
    public Optional<WalCollector.Result> collectWal(Location at) {
        Optional<Repository> repository = repositories.open(at.bucket(), at.prefix());
        if (repository.isEmpty()) {
            return Optional.empty();
        }
        WalCollector.Result result;
        try {
            result = repository.get().walCollector(config.walMinAge().plus(config.clockTolerance()))
                    .withSealedManifests(sealedManifests(repository.get())).collect();
        } catch (SealedManifestRefusedException e) {
            metrics.sealedManifestRefused("wal", e.reason().tag());
            throw e;
        }
        metrics.wal(result);
        return Optional.of(result);
    }

    /**
     * The chain and the SHA-256 sealed for each backup of {@code repository} this worker sealed and has not deleted
     * (the chain from the manifest key recorded at sealing): one query each time the collector asks.
     */
    private SealedManifests sealedManifests(Repository repository) {
        return new SealedManifests(() -> {
            Map<String, SealedManifests.Seal> byBackup = new HashMap<>();
            sealed.sealedManifestSha256(repository.bucket(), repository.layout().chainsRoot()).forEach((key, sha) ->
                    ManifestLocation.parse(key)
                            .filter(at -> at.prefix().equals(repository.layout().prefix()))
                            .ifPresent(at -> byBackup.put(at.backupId(), new SealedManifests.Seal(at.chainId(), sha))));
            return byBackup;
        });
    }

    /**
     * Whether a manifest must stay: its backup was sealed (COMPLETED). A FAILED verdict or none at all lets it go
     * after the grace period. An id that is not a backup id of this platform names nothing it wrote: kept.
     */
    private boolean sealedOrNotOurs(String backupId) {
        UUID id;
        try {
            id = UUID.fromString(backupId);
        } catch (IllegalArgumentException e) {
            return true;
        }
        return sealed.find(id).map(v -> v.outcome() == SealedBackup.Outcome.COMPLETED).orElse(false);
    }

    @Scheduled(identity = "gc", every = "${lifeboat.gc.interval:1h}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void scheduled() {
        Set<Location> locations;
        try {
            locations = knownRepositories();
        } catch (RuntimeException e) {
            LOG.warnf("scheduled gc skipped: %s", e.getMessage());
            return;
        }
        Run run = collect(locations);
        LOG.infof("scheduled gc: %d repositories, %d chunks marked, %d chunks deleted (%d bytes), %d chains deleted,"
                        + " %d WAL segments deleted, %d failed", run.repositories().size(), run.chunksMarked(),
                run.chunksDeleted(), run.bytesFreed(), run.chainsDeleted(), run.walSegmentsDeleted(),
                run.failures().size());
    }
}
