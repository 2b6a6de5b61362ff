package dev.lifeboat.catalog.repository;

import dev.lifeboat.catalog.domain.Backup;
import dev.lifeboat.catalog.domain.BackupQuery;
import dev.lifeboat.catalog.domain.BackupStatus;
import io.quarkus.hibernate.reactive.panache.PanacheRepositoryBase;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.LockModeType;

import java.time.Instant;
import java.util.List;

@ApplicationScoped
public class BackupRepository implements PanacheRepositoryBase<Backup, String> {

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

    /**
     * One page newest first by requested_at (backups no event has dated yet last), then backup_id: {@code limit} rows
     * after the query's cursor. Every filter is served by an index of migration V9.
     */
    public Uni<List<Backup>> page(BackupQuery q, int limit) {
        Keyset k = new Keyset("backup", "requested_at", "backup_id");
        k.where("source_id = :sourceId", "sourceId", q.sourceId())
                .where("status = :status", "status", q.status() == null ? null : q.status().name())
                .where("type = :type", "type", q.type() == null ? null : q.type().name())
                .where(k.key() + " >= :from", "from", q.from())
                .where(k.key() + " < :to and requested_at is not null", "to", q.to())
                .after(q.after());
        return getSession().chain(s -> {
            var query = s.createNativeQuery(k.sql(), Backup.class);
            k.params.forEach(query::setParameter);
            return query.setMaxResults(limit).getResultList();
        });
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
}
