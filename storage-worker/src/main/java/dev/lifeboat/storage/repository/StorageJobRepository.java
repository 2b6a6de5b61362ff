package dev.lifeboat.storage.repository;

import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collection;
import java.util.Optional;

/**
 * The {@code storage.storage_job} table over plain JDBC. Jobs are added inside the caller's transaction
 * ({@link #add(Connection, StorageJob.New)}), claimed for a lease with {@code FOR UPDATE SKIP LOCKED} so that several
 * workers share the table without taking the same row, and finished only by the worker that holds the claim.
 */
@ApplicationScoped
public class StorageJobRepository {
    private final AgroalDataSource dataSource;

    public StorageJobRepository(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * Adds a PENDING job on {@code c} (the caller commits), unless one is already pending for the same subject: a
     * redelivered cause does not queue the work twice.
     */
    public static void add(Connection c, StorageJob.New job) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO storage.storage_job (kind, subject, payload, event_key, status, run_after, created_at)
                VALUES (?, ?, ?::jsonb, ?, 'PENDING', CASE WHEN ? THEN 'infinity'::timestamptz ELSE now() END, now())
                ON CONFLICT (subject) WHERE status = 'PENDING' DO NOTHING""")) {
            ps.setString(1, job.kind().name());
            ps.setString(2, job.subject());
            ps.setString(3, job.payload());
            ps.setString(4, job.eventKey());
            ps.setBoolean(5, job.held());
            ps.executeUpdate();
        }
    }

    /** Adds a job in a transaction of its own. */
    public void add(StorageJob.New job) {
        try (Connection c = dataSource.getConnection()) {
            add(c, job);
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot queue " + job.kind() + " job for " + job.subject(), e);
        }
    }

    /** Lets the held pending job on {@code subject} run now; nothing when there is none. */
    public void release(String subject) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE storage.storage_job SET run_after = now() "
                     + "WHERE subject = ? AND status = 'PENDING' AND run_after = 'infinity'::timestamptz")) {
            ps.setString(1, subject);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot release the job on " + subject, e);
        }
    }

    /**
     * Claims the oldest runnable job for {@code lease}: pending, due, and not claimed by a worker whose lease still
     * runs. Empty when there is none.
     */
    public Optional<StorageJob> claim(String worker, Duration lease) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     UPDATE storage.storage_job SET claimed_by = ?, claimed_until = now() + ?::interval,
                            attempts = attempts + 1
                     WHERE id = (SELECT id FROM storage.storage_job
                                 WHERE status = 'PENDING' AND run_after <= now()
                                   AND (claimed_until IS NULL OR claimed_until < now())
                                 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
                     RETURNING id, kind, subject, payload::text, event_key, attempts, created_at""")) {
            ps.setString(1, worker);
            ps.setString(2, lease.toMillis() + " milliseconds");
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new StorageJob(rs.getLong(1), StorageJob.Kind.valueOf(rs.getString(2)),
                        rs.getString(3), rs.getString(4), rs.getString(5), rs.getInt(6),
                        rs.getTimestamp(7).toInstant()));
            }
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot claim a storage job", e);
        }
    }

    /** Extends the leases of the jobs {@code worker} is running, so that no other worker takes them over. */
    public void renew(String worker, Collection<Long> ids, Duration lease) {
        if (ids.isEmpty()) {
            return;
        }
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE storage.storage_job SET claimed_until = now() + "
                     + "?::interval WHERE claimed_by = ? AND status = 'PENDING' AND id = ANY (?)")) {
            ps.setString(1, lease.toMillis() + " milliseconds");
            ps.setString(2, worker);
            ps.setArray(3, c.createArrayOf("bigint", ids.toArray()));
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot renew the leases of storage jobs " + ids, e);
        }
    }

    /** The job ended ({@code DONE} or {@code FAILED}); {@code error} is null when it succeeded. */
    public void finish(long id, String worker, boolean done, String error) {
        update(id, worker, "UPDATE storage.storage_job SET status = ?, finished_at = now(), last_error = ?, "
                + "claimed_until = NULL WHERE id = ? AND claimed_by = ? AND status = 'PENDING'",
                done ? "DONE" : "FAILED", error);
    }

    /** A transient failure: the job runs again after {@code backoff}, on any worker. */
    public void retryLater(long id, String worker, Duration backoff, String error) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE storage.storage_job SET run_after = now() + "
                     + "?::interval, last_error = ?, claimed_by = NULL, claimed_until = NULL "
                     + "WHERE id = ? AND claimed_by = ? AND status = 'PENDING'")) {
            ps.setString(1, backoff.toMillis() + " milliseconds");
            ps.setString(2, error);
            ps.setLong(3, id);
            ps.setString(4, worker);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot reschedule storage job " + id, e);
        }
    }

    /** Gives the claims of {@code worker} back at shutdown, so that another worker need not wait for the lease. */
    public void releaseAll(String worker, Collection<Long> ids) {
        if (ids.isEmpty()) {
            return;
        }
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE storage.storage_job SET claimed_by = NULL, "
                     + "claimed_until = NULL WHERE claimed_by = ? AND status = 'PENDING' AND id = ANY (?)")) {
            ps.setString(1, worker);
            ps.setArray(2, c.createArrayOf("bigint", ids.toArray()));
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot release the storage jobs " + ids, e);
        }
    }

    private void update(long id, String worker, String sql, String status, String error) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, status);
            ps.setString(2, error);
            ps.setLong(3, id);
            ps.setString(4, worker);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot mark storage job " + id + " " + status, e);
        }
    }
}
