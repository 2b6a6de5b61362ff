package dev.lifeboat.catalog.repository;

import dev.lifeboat.catalog.domain.WalArchiveStatus;
import dev.lifeboat.contracts.WalStatus;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.hibernate.reactive.panache.PanacheRepositoryBase;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;

@ApplicationScoped
public class WalStatusRepository implements PanacheRepositoryBase<WalArchiveStatus, String> {

    /**
     * Keeps {@code status} when it is the newest of its source: a higher lease token (a new owner), or the same
     * token and a report at least as recent. True when it was kept. Order of arrival does not matter.
     */
    public Uni<Boolean> upsertIfNewer(WalStatus status, Instant receivedAt) {
        return Panache.getSession()
                .chain(s -> s.createNativeQuery("""
                                insert into {h-schema}wal_status as w
                                    (source_id, worker_id, lease_token, timeline, archived_lsn, archived_at,
                                     server_lsn, lag_bytes, lag_seconds, continuity_from, last_contiguous_segment,
                                     gap, first_missing_segment, state, error, reported_at, received_at)
                                values (:sourceId, :workerId, :token, :timeline, :archivedLsn, :archivedAt,
                                        :serverLsn, :lagBytes, :lagSeconds, :from, :lastContiguous,
                                        :gap, :firstMissing, :state, :error, :reportedAt, :receivedAt)
                                on conflict (source_id) do update
                                   set worker_id = excluded.worker_id, lease_token = excluded.lease_token,
                                       timeline = excluded.timeline, archived_lsn = excluded.archived_lsn,
                                       archived_at = excluded.archived_at, server_lsn = excluded.server_lsn,
                                       lag_bytes = excluded.lag_bytes, lag_seconds = excluded.lag_seconds,
                                       continuity_from = excluded.continuity_from,
                                       last_contiguous_segment = excluded.last_contiguous_segment,
                                       gap = excluded.gap, first_missing_segment = excluded.first_missing_segment,
                                       state = excluded.state, error = excluded.error,
                                       reported_at = excluded.reported_at, received_at = excluded.received_at
                                 where excluded.lease_token > w.lease_token
                                    or (excluded.lease_token = w.lease_token and excluded.reported_at >= w.reported_at)""")
                        .setParameter("sourceId", status.sourceId())
                        .setParameter("workerId", status.workerId())
                        .setParameter("token", status.leaseToken())
                        .setParameter("timeline", status.timeline())
                        .setParameter("archivedLsn", status.archivedLsn())
                        .setParameter("archivedAt", status.archivedAt())
                        .setParameter("serverLsn", status.serverLsn())
                        .setParameter("lagBytes", status.lagBytes())
                        .setParameter("lagSeconds", status.lagSeconds())
                        .setParameter("from", status.continuityFrom())
                        .setParameter("lastContiguous", status.lastContiguousSegment())
                        .setParameter("gap", status.gap())
                        .setParameter("firstMissing", status.firstMissingSegment())
                        .setParameter("state", status.state())
                        .setParameter("error", status.error())
                        .setParameter("reportedAt", status.reportedAt())
                        .setParameter("receivedAt", receivedAt)
                        .executeUpdate())
                .map(n -> n == 1);
    }
}
