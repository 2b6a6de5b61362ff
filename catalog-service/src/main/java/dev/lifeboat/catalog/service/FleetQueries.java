package dev.lifeboat.catalog.service;

import dev.lifeboat.catalog.client.SchedulerClient;
import dev.lifeboat.catalog.domain.FleetView;
import dev.lifeboat.catalog.domain.ListCursor;
import dev.lifeboat.catalog.domain.RecoveryStatus;
import dev.lifeboat.catalog.domain.RpoCompliance;
import dev.lifeboat.catalog.domain.RtoPrediction;
import dev.lifeboat.catalog.domain.WalArchiveStatus;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.kit.rest.ProblemException;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jboss.logging.Logger;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The fleet at a glance: one SQL statement over the catalog (per source its newest restorable backup, WAL archive
 * status, newest finished drill and newest verification, one row each), plus one call to scheduler-service for the
 * policies (RPO and next run). RPO compliance is {@link RpoQueries#evaluate}, the rule of GET /sources/{id}/rpo.
 * GET /fleet and the dashboard read it a page at a time ({@link #page}); the per-source gauges ({@link FleetMetrics})
 * read all of it ({@link #read()}) on their timer.
 */
@ApplicationScoped
public class FleetQueries {
    private static final Logger LOG = Logger.getLogger(FleetQueries.class);

    private final Pool pool;
    private final RpoQueries rpo;
    private final SchedulerClient scheduler;
    private final String sql;
    private final String pageSql;

    public FleetQueries(Pool pool, RpoQueries rpo, @RestClient SchedulerClient scheduler,
                        @ConfigProperty(name = "quarkus.hibernate-orm.database.default-schema") String schema) {
        this.pool = pool;
        this.rpo = rpo;
        this.scheduler = scheduler;
        this.sql = SQL.replace("{s}", schema);
        this.pageSql = PAGE_SQL.replace("{s}", schema);
    }

    /** What the fleet shows of a source: its source_state row and its WAL archiver report; {id}: its source id. */
    private static final String COLUMNS = """
            select {id} as source_id,
                   st.backup_id, st.type, st.method, st.requested_at, st.started_at, st.completed_at,
                   st.last_verified_at, st.last_verification, st.last_passed_verified_at,
                   st.drill_run_id as run_id, st.drill_plan_id as plan_id, st.drill_status as status,
                   st.drill_total_millis as total_millis, st.drill_rto_millis as rto_millis,
                   st.drill_rto_met as rto_met, st.drill_finished_at as finished_at,
                   w.worker_id, w.archived_lsn, w.archived_at, w.server_lsn, w.lag_bytes, w.lag_seconds,
                   w.continuity_from, w.last_contiguous_segment, w.gap, w.first_missing_segment, w.state, w.error,
                   w.reported_at
            """;

    /**
     * One row per source: source_state (kept by the database after every write of backup and recovery rows, migration
     * V10) and the source's WAL archiver report.
     */
    private static final String SQL = COLUMNS.replace("{id}", "coalesce(st.source_id, w.source_id)") + """
              from {s}.source_state st
              full join {s}.wal_status w on w.source_id = st.source_id
             order by 1""";

    /**
     * The first $2 sources after source id $1, the same rows as {@link #SQL}. Ids compare bytewise (collation "C",
     * as scheduler-service pages policies, and {@link #BYTEWISE}), whatever the database's collation; each side walks
     * its index of that order (Flyway V13) from the cursor and stops after $2.
     */
    private static final String PAGE_SQL = """
            with ids as (
                select source_id from (
                    (select source_id from {s}.source_state where source_id collate "C" > $1
                      order by source_id collate "C" limit $2)
                    union
                    (select source_id from {s}.wal_status where source_id collate "C" > $1
                      order by source_id collate "C" limit $2)) u
                 order by source_id collate "C"
                 limit $2)
            """ + COLUMNS.replace("{id}", "ids.source_id") + """
              from ids
              left join {s}.source_state st on st.source_id = ids.source_id
              left join {s}.wal_status w on w.source_id = ids.source_id
             order by ids.source_id collate "C"
            """;

    /**
     * What the catalog knows of one source. {@code lastVerification}: the verdict of its newest verification;
     * {@code lastPassedVerifiedAt}: the newest verification that passed.
     */
    record Known(String sourceId, Newest newest, WalArchiveStatus wal, Drill drill, Instant lastVerifiedAt,
                 String lastVerification, Instant lastPassedVerifiedAt) {
        static Known nothing(String sourceId) {
            return new Known(sourceId, null, null, null, null, null, null);
        }
    }

    /** A source's newest restorable backup, as source_state keeps it (plain values: a page reads up to 201). */
    record Newest(String backupId, BackupType type, String method, Instant requestedAt, Instant startedAt,
                  Instant completedAt) {
    }

    /** A source's newest finished drill, as source_state keeps it. */
    record Drill(String runId, String planId, RecoveryStatus status, Long totalMillis, Long rtoMillis, Boolean rtoMet,
                 Instant finishedAt) {
    }

    /**
     * The fleet as read at {@code now}: every source the catalog or scheduler-service knows, in id order, each with
     * its view; {@code policies} empty when scheduler-service did not answer.
     */
    record Fleet(Instant now, Map<String, Known> known, Optional<List<SchedulerClient.PolicyInfo>> policies,
                 List<FleetView.Source> sources) {
    }

    /** The list a fleet cursor belongs to. */
    public static final String LIST = "fleet";
    public static final int DEFAULT_SIZE = 100;
    public static final int MAX_SIZE = 200;

    /**
     * Source ids in bytewise (UTF-8) order: the order of PostgreSQL's collation "C", which the pages follow. UTF-8
     * bytes compare as the code points they encode, so the ids compare code point by code point, without encoding
     * them (a page compares ids a few thousand times).
     */
    static final Comparator<String> BYTEWISE = FleetQueries::compareCodePoints;

    private static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    }

    private static final java.util.regex.Pattern SOURCE_ID = java.util.regex.Pattern.compile(Ids.NAME);

    /**
     * The source id a fleet cursor continues after; null for none (the first page). A cursor that is not this list's,
     * or names no possible source id, is a 400.
     */
    public static String cursorSourceId(String cursor) {
        ListCursor c = ListCursor.decode(LIST, "", cursor, SOURCE_ID);
        return c == null ? null : c.id();
    }

    /** The page size a query parameter asks for: absent is {@link #DEFAULT_SIZE}; anything else 1 to {@link #MAX_SIZE}. */
    public static int pageSize(String size) {
        if (size == null || size.isBlank()) {
            return DEFAULT_SIZE;
        }
        try {
            int n = Integer.parseInt(size.trim());
            if (n >= 1 && n <= MAX_SIZE) {
                return n;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ProblemException.badRequest("query parameter 'size' must be an integer between 1 and " + MAX_SIZE);
    }

    /**
     * One page of the fleet: the first {@code size} sources, in id order, after {@code afterSourceId} (null: from the
     * first). Costs one statement over at most size + 1 sources and one call to scheduler-service for the policies
     * of at most size + 1 sources. A source is on the page when the catalog or scheduler-service knows it; the page
     * holds the smallest ids of both, and each side was asked for one more than the page, so every source on it
     * comes with everything either side knows of it. What scheduler-service answers beyond what was asked (an older
     * version ignores the paging parameters and sends every policy) is cut to what was asked.
     */
    @WithSpan("FleetQueries.page")
    public Uni<FleetView> page(String afterSourceId, int size) {
        String after = afterSourceId == null ? "" : afterSourceId;
        Uni<Map<String, Known>> catalog = pool.preparedQuery(pageSql).execute(Tuple.of(after, size + 1))
                .map(FleetQueries::byId);
        Uni<Optional<List<SchedulerClient.PolicyInfo>>> policies = answered(scheduler.policyPage(afterSourceId,
                size + 1)).map(answer -> answer.map(all -> firstSources(all, after, size + 1)));
        return Uni.combine().all().unis(catalog, policies).asTuple().map(t -> {
            Fleet f = view(t.getItem1(), t.getItem2(), Instant.now());
            boolean policiesKnown = f.policies().isPresent();
            List<FleetView.Source> sources = f.sources();
            if (sources.size() <= size) {
                return new FleetView(f.now(), sources, policiesKnown, null);
            }
            List<FleetView.Source> page = sources.subList(0, size);
            return new FleetView(f.now(), List.copyOf(page), policiesKnown,
                    ListCursor.encode(LIST, "", null, page.getLast().sourceId()));
        });
    }

    /** The policies of the first {@code sources} source ids after {@code after}, of those given. */
    static List<SchedulerClient.PolicyInfo> firstSources(List<SchedulerClient.PolicyInfo> policies, String after,
                                                         int sources) {
        java.util.Set<String> kept = policies.stream().map(SchedulerClient.PolicyInfo::sourceId)
                .filter(id -> id != null && BYTEWISE.compare(id, after) > 0)
                .sorted(BYTEWISE).distinct().limit(sources)
                .collect(Collectors.toSet());
        return policies.stream().filter(p -> kept.contains(p.sourceId())).toList();
    }

    /** The whole fleet (the per-source gauges): one read of the catalog's fleet query and one call to scheduler-service. */
    Uni<Fleet> read() {
        return Uni.combine().all().unis(pool.query(sql).execute().map(FleetQueries::byId), answered(scheduler.policies(null)))
                .asTuple().map(t -> view(t.getItem1(), t.getItem2(), Instant.now()));
    }

    private static Map<String, Known> byId(RowSet<Row> rows) {
        Map<String, Known> known = new TreeMap<>(BYTEWISE);
        for (Row row : rows) {
            Known k = known(row);
            known.put(k.sourceId(), k);
        }
        return known;
    }

    /** The policies, or empty when scheduler-service did not answer (the catalog's part of the fleet still shows). */
    private static Uni<Optional<List<SchedulerClient.PolicyInfo>>> answered(Uni<List<SchedulerClient.PolicyInfo>> call) {
        return call.map(Optional::of).onFailure().recoverWithItem(t -> {
            LOG.warnf("scheduler-service did not answer for the fleet's policies: %s", t.toString());
            return Optional.empty();
        });
    }

    private Fleet view(Map<String, Known> known, Optional<List<SchedulerClient.PolicyInfo>> policies, Instant now) {
        Map<String, List<SchedulerClient.PolicyInfo>> bySource = policies.orElse(List.of()).stream()
                .filter(p -> p.sourceId() != null)
                .collect(Collectors.groupingBy(SchedulerClient.PolicyInfo::sourceId, () -> new TreeMap<>(BYTEWISE),
                        Collectors.toList()));
        // a source with policies and nothing in the catalog yet is in the fleet too (and misses its RPO)
        Map<String, Known> all = new TreeMap<>(BYTEWISE);
        all.putAll(known);
        bySource.keySet().forEach(id -> all.putIfAbsent(id, Known.nothing(id)));
        List<FleetView.Source> sources = new ArrayList<>(all.size());
        for (Known k : all.values()) {
            sources.add(source(k, policies.isPresent() ? bySource.getOrDefault(k.sourceId(), List.of()) : null, now));
        }
        return new Fleet(now, all, policies, sources);
    }

    private FleetView.Source source(Known k, List<SchedulerClient.PolicyInfo> policies, Instant now) {
        String method = k.wal() != null ? RpoQueries.PHYSICAL
                : k.newest() == null ? null : k.newest().method() == null ? "logical" : k.newest().method();
        Long rpoSeconds = null;
        Boolean compliant = null;
        String reason;
        Instant next = null;
        Newest b = k.newest();
        RpoCompliance.LatestBackup latest = b == null ? null
                : RpoCompliance.LatestBackup.of(b.backupId(), b.requestedAt(), b.startedAt(), b.completedAt(), now);
        if (policies == null) {
            reason = "scheduler-service did not answer: the RPO of source '" + k.sourceId() + "' is unknown";
        } else {
            List<RpoCompliance.Policy> each = new ArrayList<>(policies.size());
            for (SchedulerClient.PolicyInfo p : policies) {
                each.add(new RpoCompliance.Policy(p.id(), p.type(), p.enabled(), p.rpo()));
                if (p.enabled() && p.nextRunAt() != null && (next == null || p.nextRunAt().isBefore(next))) {
                    next = p.nextRunAt();
                }
            }
            RpoCompliance c = rpo.evaluate(k.sourceId(), method, each, latest, k.wal(), now);
            rpoSeconds = c.rpoSeconds();
            compliant = c.compliant();
            reason = c.reason();
        }
        FleetView.LastGoodBackup good = latest == null ? null : new FleetView.LastGoodBackup(b.backupId(),
                b.completedAt(), latest.ageSeconds(), b.type() == null ? null : b.type().name());
        Double lag = k.wal() == null || k.wal().archivedLsn == null ? null
                : RpoCompliance.WalArchive.of(k.wal(), now, rpo.walStatusStaleAfter()).rpoSeconds();
        RtoPrediction.Drill d = k.drill() == null ? null : RtoPrediction.Drill.of(k.drill().runId(),
                k.drill().planId(), k.drill().status(), k.drill().finishedAt(), k.drill().totalMillis(),
                k.drill().rtoMillis(), k.drill().rtoMet());
        FleetView.LastDrill drill = d == null ? null : new FleetView.LastDrill(d.runId(), d.status(),
                d.measuredRtoSeconds(), d.rtoTargetSeconds(), d.rtoMet(), d.finishedAt());
        return new FleetView.Source(k.sourceId(), method, good, rpoSeconds, compliant, reason, next, lag, drill,
                k.lastVerifiedAt());
    }

    private static Known known(Row row) {
        String sourceId = row.getString("source_id");
        Newest newest = null;
        if (row.getString("backup_id") != null) {
            String type = row.getString("type");
            newest = new Newest(row.getString("backup_id"), type == null ? null : BackupType.valueOf(type),
                    row.getString("method"), instant(row, "requested_at"), instant(row, "started_at"),
                    instant(row, "completed_at"));
        }
        WalArchiveStatus wal = null;
        if (row.getString("worker_id") != null) {
            wal = new WalArchiveStatus();
            wal.sourceId = sourceId;
            wal.workerId = row.getString("worker_id");
            wal.archivedLsn = row.getString("archived_lsn");
            wal.archivedAt = instant(row, "archived_at");
            wal.serverLsn = row.getString("server_lsn");
            wal.lagBytes = row.getLong("lag_bytes");
            wal.lagSeconds = row.getDouble("lag_seconds");
            wal.continuityFrom = row.getString("continuity_from");
            wal.lastContiguousSegment = row.getString("last_contiguous_segment");
            wal.gap = Boolean.TRUE.equals(row.getBoolean("gap"));
            wal.firstMissingSegment = row.getString("first_missing_segment");
            wal.state = row.getString("state");
            wal.error = row.getString("error");
            wal.reportedAt = instant(row, "reported_at");
        }
        Drill drill = null;
        if (row.getString("run_id") != null) {
            drill = new Drill(row.getString("run_id"), row.getString("plan_id"),
                    RecoveryStatus.valueOf(row.getString("status")), row.getLong("total_millis"),
                    row.getLong("rto_millis"), row.getBoolean("rto_met"), instant(row, "finished_at"));
        }
        return new Known(sourceId, newest, wal, drill, instant(row, "last_verified_at"),
                row.getString("last_verification"), instant(row, "last_passed_verified_at"));
    }

    private static Instant instant(Row row, String column) {
        OffsetDateTime t = row.getOffsetDateTime(column);
        return t == null ? null : t.toInstant();
    }
}
