package dev.lifeboat.catalog.repository;

import dev.lifeboat.catalog.domain.Recovery;
import dev.lifeboat.catalog.domain.RecoveryQuery;
import dev.lifeboat.catalog.domain.RecoveryStatus;
import dev.lifeboat.catalog.domain.RtoPrediction;
import dev.lifeboat.contracts.recovery.RunMode;
import io.quarkus.hibernate.reactive.panache.PanacheRepositoryBase;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.LockModeType;

import java.time.Instant;
import java.util.List;

@ApplicationScoped
public class RecoveryRepository implements PanacheRepositoryBase<Recovery, String> {

    /**
     * The run's row, locked for update until the transaction ends; created RUNNING if this is the first event
     * about it, so Started and Finished of one run never race each other into two rows.
     */
    public Uni<Recovery> lockOrCreate(String runId, Instant now) {
        return getSession()
                .chain(s -> s.createNativeQuery("""
                                insert into {h-schema}recovery (run_id, status, updated_at)
                                values (:id, :status, :now)
                                on conflict (run_id) do nothing""")
                        .setParameter("id", runId)
                        .setParameter("status", RecoveryStatus.RUNNING.name())
                        .setParameter("now", now)
                        .executeUpdate())
                .chain(() -> findById(runId, LockModeType.PESSIMISTIC_WRITE));
    }

    private static final Sort NEWEST_FINISHED = Sort.by("finishedAt", Sort.Direction.Descending,
            Sort.NullPrecedence.NULLS_LAST).and("runId", Sort.Direction.Descending);

    /** The newest succeeded run of the source whose RestoreCluster step measured a base fetch rate. */
    public Uni<Recovery> newestClusterMeasure(String sourceId) {
        return find("sourceId = ?1 and status = ?2 and clusterBaseBytes > 0 and clusterFetchMillis > 0",
                NEWEST_FINISHED, sourceId, RecoveryStatus.SUCCEEDED).firstResult();
    }

    /** The source's newest finished drill, whatever its outcome. */
    public Uni<Recovery> lastDrill(String sourceId) {
        return find("sourceId = ?1 and mode = ?2 and status <> ?3", NEWEST_FINISHED, sourceId, RunMode.DRILL,
                RecoveryStatus.RUNNING).firstResult();
    }

    /**
     * The newest succeeded run of the source whose RestoreDatabase step completed in a measured time and whose
     * restored backup's size the catalog knows; null when there is none.
     */
    public Uni<RtoPrediction.LogicalMeasure> newestLogicalMeasure(String sourceId) {
        return getSession().chain(s -> s.createSelectionQuery("""
                                select r, b.backupId, coalesce(nullif(b.rawBytes, 0), b.sizeBytes), st.durationMillis
                                  from Recovery r
                                  join RecoveryStep st on st.runId = r.runId
                                  join Backup b on b.backupId = r.backupId
                                 where r.sourceId = :source and r.status = :succeeded
                                   and st.kind = 'RestoreDatabase' and st.status = 'COMPLETED'
                                   and st.durationMillis > 0 and coalesce(nullif(b.rawBytes, 0), b.sizeBytes) > 0
                                 order by r.finishedAt desc nulls last, r.runId desc""", Object[].class)
                        .setParameter("source", sourceId)
                        .setParameter("succeeded", RecoveryStatus.SUCCEEDED)
                        .setMaxResults(1)
                        .getResultList())
                .map(rows -> rows.isEmpty() ? null : new RtoPrediction.LogicalMeasure((Recovery) rows.getFirst()[0],
                        (String) rows.getFirst()[1], ((Number) rows.getFirst()[2]).longValue(),
                        ((Number) rows.getFirst()[3]).longValue()));
    }

    /**
     * One page newest first by started_at (runs no event has dated yet last), then run_id: {@code limit} rows after
     * the query's cursor. Every filter is served by an index of migration V9.
     */
    public Uni<List<Recovery>> page(RecoveryQuery q, int limit) {
        Keyset k = new Keyset("recovery", "started_at", "run_id")
                .where("mode = :mode", "mode", q.mode() == null ? null : q.mode().name())
                .where("plan_id = :planId", "planId", q.planId())
                .where("status = :status", "status", q.status() == null ? null : q.status().name())
                .where("source_id = :sourceId", "sourceId", q.sourceId())
                .after(q.after());
        return getSession().chain(s -> {
            var query = s.createNativeQuery(k.sql(), Recovery.class);
            k.params.forEach(query::setParameter);
            return query.setMaxResults(limit).getResultList();
        });
    }
}
