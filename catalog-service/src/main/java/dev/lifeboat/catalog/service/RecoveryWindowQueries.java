package dev.lifeboat.catalog.service;

import dev.lifeboat.catalog.domain.RecoveryWindow;
import dev.lifeboat.catalog.domain.RtoPrediction;
import dev.lifeboat.catalog.domain.WalArchiveStatus;
import dev.lifeboat.catalog.repository.BackupRepository;
import dev.lifeboat.catalog.repository.RecoveryRepository;
import dev.lifeboat.catalog.repository.WalStatusRepository;
import dev.lifeboat.kit.rest.ProblemException;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per source, from the catalog alone: the recoverable window (its retained backups and, physical, its WAL archive's
 * reach) and the RTO predicted from measured restore rates. Whether a source is physical is what the catalog has
 * seen of it: a physical base backup or a WAL archiver's report.
 * <p>
 * Gauges {@code lifeboat_recovery_window_earliest_timestamp_seconds{source}} and
 * {@code lifeboat_recovery_window_latest_timestamp_seconds{source}} (epoch seconds, NaN while a physical source has
 * no window) are set each time a physical source's window is computed: on every read, and on a WAL archiver's report
 * when the source's were last set longer ago than {@code lifeboat.catalog.window-gauges.refresh} (30 s). The window
 * reads every retained base backup of the source; an archiver reports every few seconds per source, which for a
 * fleet would be that read several times a second over and over for gauges a scrape reads every 15 to 60 s. A source
 * that is no longer in the fleet loses its two series at the fleet gauges' next refresh ({@link #keepGaugesOf}). The
 * catalog itself never removes a source's rows (source_state, wal_status): only a purge of the catalog's database does.
 */
@ApplicationScoped
public class RecoveryWindowQueries {
    private static final String EARLIEST = "lifeboat.recovery.window.earliest.timestamp.seconds";
    private static final String LATEST = "lifeboat.recovery.window.latest.timestamp.seconds";
    private final BackupRepository backups;
    private final WalStatusRepository walStatuses;
    private final RecoveryRepository runs;
    private final MeterRegistry registry;
    private final int walSegmentSize;
    private final long gaugeRefreshNanos;
    private final Map<String, double[]> windows = new ConcurrentHashMap<>();
    /**
     * Per physical source, when the reading of the window its gauges hold started (System.nanoTime), or of the one
     * being read for an archiver's report.
     */
    private final Map<String, Long> publishedAt = new ConcurrentHashMap<>();

    public RecoveryWindowQueries(BackupRepository backups, WalStatusRepository walStatuses, RecoveryRepository runs,
                                 MeterRegistry registry,
                                 @ConfigProperty(name = "lifeboat.catalog.wal-segment-size", defaultValue = "16777216")
                                 int walSegmentSize,
                                 @ConfigProperty(name = "lifeboat.catalog.window-gauges.refresh", defaultValue = "30s")
                                 Duration gaugeRefresh) {
        this.backups = backups;
        this.walStatuses = walStatuses;
        this.runs = runs;
        this.registry = registry;
        this.walSegmentSize = walSegmentSize;
        this.gaugeRefreshNanos = gaugeRefresh.toNanos();
    }

    private record Known(boolean physical, WalArchiveStatus wal) {
    }

    @WithSpan("RecoveryWindowQueries.window")
    public Uni<RecoveryWindow> window(String sourceId) {
        return Uni.createFrom().deferred(() -> compute(sourceId, System.nanoTime()));
    }

    /** The window, read from a session started at {@code started} (System.nanoTime), its gauges set from it. */
    private Uni<RecoveryWindow> compute(String sourceId, long started) {
        return Panache.withSession(() -> known(sourceId).chain(k -> backups.retained(sourceId, k.physical())
                        .map(list -> k.physical()
                                ? RecoveryWindow.physical(sourceId, list, k.wal(), walSegmentSize, Instant.now())
                                : RecoveryWindow.logical(sourceId, list, Instant.now()))))
                .invoke(w -> publish(w, started));
    }

    @WithSpan("RecoveryWindowQueries.rto")
    public Uni<RtoPrediction> rto(String sourceId) {
        return Panache.withSession(() -> known(sourceId).chain(k -> runs.lastDrill(sourceId).chain(drill -> {
            if (k.physical()) {
                return backups.retained(sourceId, true).chain(list -> runs.newestClusterMeasure(sourceId)
                        .map(measured -> RtoPrediction.physical(sourceId, list.stream()
                                        .max(Comparator.comparing(b -> b.physicalStopTime == null ? Instant.MIN
                                                : b.physicalStopTime)).orElse(null),
                                k.wal(), walSegmentSize, measured, drill, Instant.now())));
            }
            return backups.latestCompleted(sourceId).chain(newest -> runs.newestLogicalMeasure(sourceId)
                    .map(measured -> RtoPrediction.logical(sourceId, newest, measured, drill, Instant.now())));
        })));
    }

    /**
     * Recomputes the gauges of a physical source after its archiver reported, unless they were set less than the
     * refresh interval ago. The source is taken as refreshed before the window is read, so that reports arriving
     * meanwhile do not read it too; a read that fails gives that back, so the next report tries again.
     */
    public Uni<Void> refresh(String sourceId) {
        long now = System.nanoTime();
        Long last = publishedAt.get(sourceId);
        if (last != null && now - last < gaugeRefreshNanos) {
            return Uni.createFrom().voidItem();
        }
        publishedAt.merge(sourceId, now, Math::max);
        return compute(sourceId, now).onFailure().invoke(t -> publishedAt.remove(sourceId, now)).replaceWithVoid();
    }

    private Uni<Known> known(String sourceId) {
        return walStatuses.findById(sourceId).chain(wal -> backups.countByMethod(sourceId).map(counts -> {
            if (wal == null && counts[0] == 0) {
                throw new ProblemException(404, "Not Found", "the catalog knows no backup and no WAL archive of "
                        + "source '" + sourceId + "'");
            }
            return new Known(wal != null || counts[1] > 0, wal);
        }));
    }

    private void publish(RecoveryWindow w, long started) {
        if (!RecoveryWindow.PHYSICAL.equals(w.method())) {
            return;
        }
        // a window whose reading started before the one held (or being read for a report) does not overwrite it
        if (publishedAt.merge(w.sourceId(), started, Math::max) != started) {
            return;
        }
        double[] values = gaugesOf(w.sourceId());
        values[0] = seconds(w.continuous() ? w.earliest() : null);
        values[1] = seconds(w.continuous() ? w.latest() : null);
    }

    /**
     * The values behind the source's two gauges, registered on first use. Registering and dropping hold this object's
     * lock: a gauge dropped while being registered again would leave values that no series reads.
     */
    private synchronized double[] gaugesOf(String sourceId) {
        return windows.computeIfAbsent(sourceId, source -> {
            double[] v = {Double.NaN, Double.NaN};
            Gauge.builder(EARLIEST, v, a -> a[0])
                    .tag("source", source)
                    .description("earliest point the source can be recovered to (epoch seconds); NaN: no window")
                    .register(registry);
            Gauge.builder(LATEST, v, a -> a[1])
                    .tag("source", source)
                    .description("latest point the source can be recovered to (epoch seconds; past a WAL gap the "
                            + "newest time known to lie before it); NaN: no window")
                    .register(registry);
            return v;
        });
    }

    /**
     * Drops the window gauges of every source not in {@code fleet} (the ids of every source a read of the fleet listed,
     * started at {@code readStarted}, System.nanoTime), but those set since that read started: a source that appeared
     * meanwhile is not one that left.
     */
    public synchronized void keepGaugesOf(Set<String> fleet, long readStarted) {
        for (String source : List.copyOf(windows.keySet())) {
            Long published = publishedAt.get(source);
            if (!fleet.contains(source) && (published == null || published - readStarted < 0)) {
                windows.remove(source);
                publishedAt.remove(source);
                for (String name : new String[] {EARLIEST, LATEST}) {
                    registry.find(name).tag("source", source).meters().forEach(registry::remove);
                }
            }
        }
    }

    private static double seconds(RecoveryWindow.Point p) {
        return p == null || p.time() == null ? Double.NaN : p.time().toEpochMilli() / 1000.0;
    }
}
