package dev.lifeboat.snapshot.archiver;

import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The archiving leases in this service's database (table {@code snapshot.archiver_lease}): one row per physical
 * source, naming its owner, the owner's fencing token and when the lease expires. Expiry is judged by the database's
 * clock in every statement. A holder judges its own lease by its monotonic clock from the moment it sent the take or
 * renewal, so it always believes the lease over no later than the database does, and stops first.
 */
@ApplicationScoped
public class LeaseStore {
    private final DataSource ds;

    @Inject
    public LeaseStore(AgroalDataSource ds) {
        this((DataSource) ds);
    }

    LeaseStore(DataSource ds) {
        this.ds = ds;
    }

    /** A lease as its holder sees it. {@code validUntilNanos}: System.nanoTime() past which it must stop. */
    public record Lease(String sourceId, String owner, long token, long validUntilNanos) {
        public boolean valid() {
            return System.nanoTime() - validUntilNanos < 0;
        }
    }

    /**
     * Takes the lease of {@code sourceId} for {@code owner} when it is free, expired or already this owner's (then
     * it is renewed under a new token: the owner may have lost it meanwhile). Empty when another owner holds it.
     */
    public Optional<Lease> acquire(String sourceId, String owner, Duration ttl) throws SQLException {
        long sent = System.nanoTime();
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     insert into snapshot.archiver_lease (source_id, owner, token, acquired_at, expires_at)
                     values (?, ?, nextval('snapshot.archiver_lease_token'), now(), now() + ? * interval '1 millisecond')
                     on conflict (source_id) do update
                        set owner = excluded.owner, token = excluded.token, acquired_at = excluded.acquired_at,
                            expires_at = excluded.expires_at
                      where archiver_lease.expires_at < now() or archiver_lease.owner = excluded.owner
                     returning token""")) {
            c.setAutoCommit(true);
            ps.setString(1, sourceId);
            ps.setString(2, owner);
            ps.setLong(3, ttl.toMillis());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Lease(sourceId, owner, rs.getLong(1), sent + ttl.toNanos()));
            }
        }
    }

    /** Extends the lease when it is still this holder's, unexpired, under the same token; empty when it was lost. */
    public Optional<Lease> renew(Lease lease, Duration ttl) throws SQLException {
        long sent = System.nanoTime();
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     update snapshot.archiver_lease set expires_at = now() + ? * interval '1 millisecond'
                      where source_id = ? and owner = ? and token = ? and expires_at >= now()""")) {
            c.setAutoCommit(true);
            ps.setLong(1, ttl.toMillis());
            ps.setString(2, lease.sourceId());
            ps.setString(3, lease.owner());
            ps.setLong(4, lease.token());
            if (ps.executeUpdate() == 0) {
                return Optional.empty();
            }
            return Optional.of(new Lease(lease.sourceId(), lease.owner(), lease.token(), sent + ttl.toNanos()));
        }
    }

    /** Gives the lease up at once (a clean stop), so another worker need not wait for it to expire. */
    public void release(Lease lease) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     update snapshot.archiver_lease set expires_at = now() - interval '1 millisecond'
                      where source_id = ? and owner = ? and token = ?""")) {
            c.setAutoCommit(true);
            ps.setString(1, lease.sourceId());
            ps.setString(2, lease.owner());
            ps.setLong(3, lease.token());
            ps.executeUpdate();
        }
    }

    /** The segment where the source's archive begins, as first recorded; empty before anything was archived. */
    public Optional<String> archiveFrom(String sourceId) throws SQLException {
        return column(sourceId, "archive_from", rs -> rs.getString(1));
    }

    /**
     * The time before which every transaction of the source is in its archive, as its last owner measured it; empty
     * while none was recorded.
     */
    public Optional<Instant> archivedThrough(String sourceId) throws SQLException {
        return column(sourceId, "archived_through", rs -> {
            Timestamp at = rs.getTimestamp(1);
            return at == null ? null : at.toInstant();
        });
    }

    /** One column (a name from this class, never from input) of the source's lease row. */
    private <T> Optional<T> column(String sourceId, String column, ColumnReader<T> read) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "select " + column + " from snapshot.archiver_lease where source_id = ?")) {
            ps.setString(1, sourceId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.ofNullable(read.read(rs)) : Optional.empty();
            }
        }
    }

    @FunctionalInterface
    private interface ColumnReader<T> {
        T read(ResultSet rs) throws SQLException;
    }

    /** Moves {@link #archivedThrough} forward to {@code at}, while {@code lease} holds the source. */
    public void recordArchivedThrough(Lease lease, Instant at) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     update snapshot.archiver_lease set archived_through = ?
                      where source_id = ? and token = ?
                        and (archived_through is null or archived_through < ?)""")) {
            c.setAutoCommit(true);
            ps.setTimestamp(1, Timestamp.from(at));
            ps.setString(2, lease.sourceId());
            ps.setLong(3, lease.token());
            ps.setTimestamp(4, Timestamp.from(at));
            ps.executeUpdate();
        }
    }

    /** Records where the archive begins, unless it was recorded before (by this or an earlier owner). */
    public void recordArchiveFrom(Lease lease, String segment) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     update snapshot.archiver_lease set archive_from = ?
                      where source_id = ? and token = ? and archive_from is null""")) {
            c.setAutoCommit(true);
            ps.setString(1, segment);
            ps.setString(2, lease.sourceId());
            ps.setLong(3, lease.token());
            ps.executeUpdate();
        }
    }
}
