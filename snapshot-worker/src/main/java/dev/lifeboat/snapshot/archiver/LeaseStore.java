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

    /**
     * How far an archive reaches, as its owners stored it: WAL up to {@code lsn} of {@code timeline} was uploaded into
     * the archive at {@code location} ({@code s3://bucket/prefix/wal/}) of the cluster {@code systemIdentifier}.
     */
    public record ArchiveHead(String location, String systemIdentifier, int timeline, long lsn) {
    }

    /** The head last recorded for {@code sourceId}; empty while none was. */
    public Optional<ArchiveHead> archiveHead(String sourceId) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     select archive_location, archive_system_identifier, archived_timeline, archived_lsn
                       from snapshot.archiver_lease where source_id = ? and archived_lsn is not null""")) {
            ps.setString(1, sourceId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new ArchiveHead(rs.getString(1), rs.getString(2), rs.getInt(3),
                        rs.getLong(4))) : Optional.empty();
            }
        }
    }

    /**
     * Moves the archive's head forward to {@code head}, while {@code lease} holds the source: a later position on the
     * same timeline, any position on a later one, or any position of another archive or cluster (the source's
     * archive moved, or its server was replaced and the archive retired).
     */
    public void recordArchiveHead(Lease lease, ArchiveHead head) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     update snapshot.archiver_lease
                        set archive_location = ?, archive_system_identifier = ?, archived_timeline = ?,
                            archived_lsn = ?
                      where source_id = ? and token = ?
                        and (archived_lsn is null or archive_location is distinct from ?
                             or archive_system_identifier is distinct from ? or archived_timeline < ?
                             or (archived_timeline = ? and archived_lsn < ?))""")) {
            c.setAutoCommit(true);
            ps.setString(1, head.location());
            ps.setString(2, head.systemIdentifier());
            ps.setInt(3, head.timeline());
            ps.setLong(4, head.lsn());
            ps.setString(5, lease.sourceId());
            ps.setLong(6, lease.token());
            ps.setString(7, head.location());
            ps.setString(8, head.systemIdentifier());
            ps.setInt(9, head.timeline());
            ps.setInt(10, head.timeline());
            ps.setLong(11, head.lsn());
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
