package dev.lifeboat.catalog.repository;

import dev.lifeboat.catalog.domain.Backup;
import dev.lifeboat.catalog.domain.BackupQuery;
import dev.lifeboat.catalog.domain.BackupStatus;
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
public class BackupRepository implements PanacheRepositoryBase<Backup, String> {

    private static final Sort NEWEST_FIRST = Sort.by("requestedAt", Sort.Direction.Descending, Sort.NullPrecedence.NULLS_LAST)
            .and("backupId", Sort.Direction.Descending);

    /** The restore point of a backup is when its snapshot started; ties go to the one completed last. */
    private static final Sort NEWEST_RESTORE_POINT = Sort.by("startedAt", Sort.Direction.Descending, Sort.NullPrecedence.NULLS_LAST)
            .and("completedAt", Sort.Direction.Descending, Sort.NullPrecedence.NULLS_LAST);

    /**
     * The backup's row, locked for update until the transaction ends; created in status REQUESTED if this is
     * the first event about it. Insert-if-absent then lock serialises the two channels when events of one backup
     * arrive on both at once.
     */
    public Uni<Backup> lockOrCreate(String backupId, Instant now) {
        return getSession()
                .chain(s -> s.createNativeQuery("""
                                insert into {h-schema}backup (backup_id, status, updated_at)
                                values (:id, :status, :now)
                                on conflict (backup_id) do nothing""")
                        .setParameter("id", backupId)
                        .setParameter("status", BackupStatus.REQUESTED.name())
                        .setParameter("now", now)
                        .executeUpdate())
                .chain(() -> findById(backupId, LockModeType.PESSIMISTIC_WRITE));
    }

    public Uni<List<Backup>> page(BackupQuery q) {
        Where where = where(q);
        var query = where.isEmpty() ? findAll(NEWEST_FIRST) : find(where.hql(), NEWEST_FIRST, where.params);
        return query.page(Page.of(q.page(), q.size())).list();
    }

    public Uni<Long> count(BackupQuery q) {
        Where where = where(q);
        return where.isEmpty() ? count() : count(where.hql(), where.params);
    }

    public Uni<Backup> latestCompleted(String sourceId) {
        return find("sourceId = ?1 and status = ?2 and (verification is null or verification <> 'FAILED')",
                NEWEST_RESTORE_POINT, sourceId, BackupStatus.COMPLETED)
                .firstResult();
    }

    /**
     * The source's retained backups of one method (null: logical, as before physical ones existed): COMPLETED (so not
     * deleted), not expired and not found corrupt, the ones a recovery may start from.
     */
    public Uni<List<Backup>> retained(String sourceId, boolean physical) {
        return list("sourceId = ?1 and status = ?2 and expiredAt is null"
                        + " and (verification is null or verification <> 'FAILED')"
                        + (physical ? " and method = 'physical'" : " and (method is null or method <> 'physical')"),
                sourceId, BackupStatus.COMPLETED);
    }

    /** How many backups of the source the catalog knows, all methods, and how many of them are physical. */
    public Uni<long[]> countByMethod(String sourceId) {
        return count("sourceId = ?1", sourceId)
                .chain(all -> count("sourceId = ?1 and method = 'physical'", sourceId)
                        .map(physical -> new long[]{all, physical}));
    }

    private static Where where(BackupQuery q) {
        Where w = new Where();
        w.add("sourceId = :sourceId", "sourceId", q.sourceId());
        w.add("status = :status", "status", q.status());
        w.add("type = :type", "type", q.type());
        w.add("requestedAt >= :from", "from", q.from());
        w.add("requestedAt < :to", "to", q.to());
        return w;
    }

    private static final class Where {
        final List<String> conditions = new ArrayList<>();
        final Map<String, Object> params = new HashMap<>();

        void add(String condition, String name, Object value) {
            if (value != null) {
                conditions.add(condition);
                params.put(name, value);
            }
        }

        boolean isEmpty() {
            return conditions.isEmpty();
        }

        String hql() {
            return String.join(" and ", conditions);
        }
    }
}
