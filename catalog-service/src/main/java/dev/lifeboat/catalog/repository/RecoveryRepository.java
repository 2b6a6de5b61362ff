package dev.lifeboat.catalog.repository;

import dev.lifeboat.catalog.domain.Recovery;
import dev.lifeboat.catalog.domain.RecoveryQuery;
import dev.lifeboat.catalog.domain.RecoveryStatus;
import io.quarkus.hibernate.reactive.panache.PanacheRepositoryBase;
import io.quarkus.panache.common.Page;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.LockModeType;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

@ApplicationScoped
public class RecoveryRepository implements PanacheRepositoryBase<Recovery, String> {

    private static final Sort NEWEST_FIRST = Sort.by("startedAt", Sort.Direction.Descending, Sort.NullPrecedence.NULLS_LAST)
            .and("runId", Sort.Direction.Descending);

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

    public Uni<List<Recovery>> page(RecoveryQuery q) {
        Map<String, Object> params = new HashMap<>();
        String where = where(q, params);
        var query = where.isEmpty() ? findAll(NEWEST_FIRST) : find(where, NEWEST_FIRST, params);
        return query.page(Page.of(q.page(), q.size())).list();
    }

    public Uni<Long> count(RecoveryQuery q) {
        Map<String, Object> params = new HashMap<>();
        String where = where(q, params);
        return where.isEmpty() ? count() : count(where, params);
    }

    private static String where(RecoveryQuery q, Map<String, Object> params) {
        List<String> conditions = new ArrayList<>();
        add(conditions, params, "mode = :mode", "mode", q.mode());
        add(conditions, params, "planId = :planId", "planId", q.planId());
        add(conditions, params, "status = :status", "status", q.status());
        add(conditions, params, "sourceId = :sourceId", "sourceId", q.sourceId());
        return String.join(" and ", conditions);
    }

    private static void add(List<String> conditions, Map<String, Object> params, String condition, String name,
                            Object value) {
        if (value != null) {
            conditions.add(condition);
            params.put(name, value);
        }
    }
}
