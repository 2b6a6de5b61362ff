package dev.lifeboat.catalog.service;

import dev.lifeboat.catalog.domain.FleetView;
import dev.lifeboat.catalog.domain.RecoveryStatus;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.Startup;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

/**
 * Per-source gauges for alerting and dashboards, label {@code source}; a series exists only where its value is known
 * (no NaN placeholders), and a source that disappears loses its series at the next refresh:
 * <ul>
 * <li>{@code lifeboat_source_last_backup_timestamp_seconds}: completion of the newest restorable backup (COMPLETED,
 * not found corrupt), the one the RPO is measured from;</li>
 * <li>{@code lifeboat_source_last_verified_backup_timestamp_seconds}: the newest verification that passed;</li>
 * <li>{@code lifeboat_source_last_verification_ok}: 1 when the newest verification of any backup passed, 0 when it
 * failed;</li>
 * <li>{@code lifeboat_source_rpo_seconds}: the strictest RPO of the source's enabled policies;
 * {@code lifeboat_source_rpo_compliant}: 1/0, the same verdict as GET /sources/{id}/rpo;</li>
 * <li>physical sources: {@code lifeboat_source_wal_archive_lag_seconds} (the archiver's reported lag plus the age of
 * its report, so it grows when the archiver falls silent) and {@code lifeboat_source_wal_archive_gap} (1/0);</li>
 * <li>the newest finished drill: {@code lifeboat_source_last_drill_timestamp_seconds},
 * {@code lifeboat_source_last_drill_rto_seconds} (its total time), {@code lifeboat_source_last_drill_success} (1/0)
 * and {@code lifeboat_source_rto_target_seconds} (its plan's RTO).</li>
 * </ul>
 * The sources are those of GET /api/v1/fleet: with a policy at scheduler-service, a backup, a WAL archive or a drill.
 * A refresh (every {@code lifeboat.catalog.fleet-metrics.refresh}) reads the whole fleet as that endpoint reads a
 * page: one call to scheduler-service for all policies and one SQL query of the read model kept per source
 * (source_state); a scrape reads the values held.
 * When scheduler-service cannot be reached the previous values stay; {@code
 * lifeboat_catalog_fleet_refresh_timestamp_seconds} says when the last refresh succeeded.
 */
@Startup
@ApplicationScoped
public class FleetMetrics {
    private static final Logger LOG = Logger.getLogger(FleetMetrics.class);

    enum SourceGauge {
        LAST_BACKUP("lifeboat.source.last.backup.timestamp.seconds",
                "completion time of the newest restorable backup (epoch seconds)"),
        LAST_VERIFIED("lifeboat.source.last.verified.backup.timestamp.seconds",
                "time of the newest verification that passed (epoch seconds)"),
        LAST_VERIFICATION_OK("lifeboat.source.last.verification.ok",
                "1 when the newest verification of the source's backups passed, 0 when it failed"),
        RPO("lifeboat.source.rpo.seconds", "strictest RPO of the source's enabled policies"),
        RPO_COMPLIANT("lifeboat.source.rpo.compliant", "1 when the source meets its RPO now, 0 when not"),
        WAL_LAG("lifeboat.source.wal.archive.lag.seconds",
                "how far the WAL archive trails the server, including the age of the archiver's last report"),
        WAL_GAP("lifeboat.source.wal.archive.gap", "1 when the WAL archive is missing a segment"),
        DRILL_TIME("lifeboat.source.last.drill.timestamp.seconds", "end of the newest finished drill (epoch seconds)"),
        DRILL_RTO("lifeboat.source.last.drill.rto.seconds", "total time of the newest finished drill"),
        DRILL_SUCCESS("lifeboat.source.last.drill.success", "1 when the newest finished drill succeeded, 0 when not"),
        RTO_TARGET("lifeboat.source.rto.target.seconds", "RTO of the plan of the newest finished drill");

        final String metric;
        final String help;

        SourceGauge(String metric, String help) {
            this.metric = metric;
            this.help = help;
        }
    }

    /** One source's values; null: unknown, no series. */
    record SourceValues(String sourceId, Map<SourceGauge, Double> values) {
    }

    private final FleetQueries fleet;
    private final RecoveryWindowQueries windows;
    private final Map<SourceGauge, MultiGauge> gauges = new EnumMap<>(SourceGauge.class);
    private static final String REFRESH_GAUGE = "lifeboat.catalog.fleet.refresh.timestamp.seconds";
    private final AtomicReference<Double> refreshedAt = new AtomicReference<>(Double.NaN);
    private final AtomicBoolean failing = new AtomicBoolean();

    public FleetMetrics(FleetQueries fleet, RecoveryWindowQueries windows, MeterRegistry registry) {
        this.fleet = fleet;
        this.windows = windows;
        for (SourceGauge g : SourceGauge.values()) {
            gauges.put(g, MultiGauge.builder(g.metric).description(g.help).register(registry));
        }
        // a registry that outlives an earlier instance (one per application start in a JVM) would keep that
        // instance's gauge, which no refresh updates any more: this instance's value replaces it
        registry.find(REFRESH_GAUGE).meters().forEach(registry::remove);
        Gauge.builder(REFRESH_GAUGE, refreshedAt, AtomicReference::get).strongReference(true)
                .description("when the per-source gauges were last refreshed (epoch seconds)").register(registry);
    }

    @Scheduled(every = "${lifeboat.catalog.fleet-metrics.refresh:30s}", delayed = "2s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> scheduledRefresh() {
        return refresh().invoke(() -> {
            if (failing.getAndSet(false)) {
                LOG.info("per-source gauges refreshed again");
            }
        }).onFailure().recoverWithItem(t -> {
            // once per outage at WARN (scheduler-service away for an hour is one line, not 120)
            if (!failing.getAndSet(true)) {
                LOG.warnf("per-source gauges not refreshed, the previous values stay until a refresh succeeds: %s",
                        t.toString());
            } else {
                LOG.debugf("per-source gauges still not refreshed: %s", t.toString());
            }
            return null;
        });
    }

    /**
     * Recomputes every per-source gauge from one read of the fleet ({@link FleetQueries#read}, what GET /fleet shows);
     * fails, keeping the previous values, when scheduler-service does not answer (the RPOs would be unknown).
     */
    public Uni<Void> refresh() {
        return Uni.createFrom().deferred(() -> refreshFrom(System.nanoTime()));
    }

    /** {@link #refresh} with a fleet read that started at {@code started} (System.nanoTime). */
    private Uni<Void> refreshFrom(long started) {
        return fleet.read().map(f -> {
            if (f.policies().isEmpty()) {
                throw new IllegalStateException("scheduler-service did not answer for the fleet's policies");
            }
            List<SourceValues> all = new ArrayList<>(f.sources().size());
            for (FleetView.Source source : f.sources()) {
                all.add(values(source, f.known().get(source.sourceId())));
            }
            return all;
        })
                .invoke(this::publish)
                // a source that left the fleet keeps no recovery-window series either
                .invoke(all -> windows.keepGaugesOf(all.stream().map(SourceValues::sourceId)
                        .collect(Collectors.toSet()), started))
                .invoke(() -> refreshedAt.set(Instant.now().toEpochMilli() / 1000.0))
                .replaceWithVoid();
    }

    private static SourceValues values(FleetView.Source source, FleetQueries.Known known) {
        Map<SourceGauge, Double> v = new EnumMap<>(SourceGauge.class);
        FleetQueries.Newest newest = known.newest();
        if (newest != null) {
            put(v, SourceGauge.LAST_BACKUP, seconds(newest.completedAt() != null ? newest.completedAt()
                    : newest.startedAt()));
        }
        put(v, SourceGauge.LAST_VERIFIED, seconds(known.lastPassedVerifiedAt()));
        String verification = known.lastVerification();
        put(v, SourceGauge.LAST_VERIFICATION_OK, verification == null ? null
                : "FAILED".equals(verification) ? 0.0 : 1.0);
        put(v, SourceGauge.RPO, source.rpoSeconds() == null ? null : source.rpoSeconds().doubleValue());
        put(v, SourceGauge.RPO_COMPLIANT, source.rpoCompliant() == null ? null : source.rpoCompliant() ? 1.0 : 0.0);
        if (known.wal() != null) {
            put(v, SourceGauge.WAL_LAG, source.archiveLagSeconds());
            put(v, SourceGauge.WAL_GAP, known.wal().gap ? 1.0 : 0.0);
        }
        FleetQueries.Drill drill = known.drill();
        if (drill != null && drill.finishedAt() != null) {
            put(v, SourceGauge.DRILL_TIME, seconds(drill.finishedAt()));
            put(v, SourceGauge.DRILL_SUCCESS, drill.status() == RecoveryStatus.SUCCEEDED ? 1.0 : 0.0);
            put(v, SourceGauge.DRILL_RTO, millisToSeconds(drill.totalMillis()));
            put(v, SourceGauge.RTO_TARGET, millisToSeconds(drill.rtoMillis()));
        }
        return new SourceValues(source.sourceId(), v);
    }

    private void publish(List<SourceValues> all) {
        for (SourceGauge g : SourceGauge.values()) {
            List<MultiGauge.Row<?>> rows = new ArrayList<>();
            for (SourceValues s : all) {
                Double value = s.values().get(g);
                if (value != null) {
                    rows.add(MultiGauge.Row.of(Tags.of("source", s.sourceId()), value));
                }
            }
            gauges.get(g).register(rows, true);
        }
    }

    private static void put(Map<SourceGauge, Double> v, SourceGauge g, Double value) {
        if (value != null) {
            v.put(g, value);
        }
    }

    private static Double seconds(Instant t) {
        return t == null ? null : t.toEpochMilli() / 1000.0;
    }

    private static Double millisToSeconds(Long millis) {
        return millis == null ? null : millis / 1000.0;
    }
}
