package dev.lifeboat.snapshot.repository;

import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * One row per backup this worker pool took on. It turns at-least-once delivery into one backup per id:
 * a finished backup is never redone, and while a worker runs a backup it holds a PostgreSQL advisory lock on
 * its id, so a copy of the request redelivered to another worker (a rebalance while the backup runs) is
 * skipped. The lock lives in the worker's database session: a worker that dies releases it, and the next
 * delivery redoes the backup from scratch.
 */
@ApplicationScoped
public class JobLedger {
    private static final Logger LOG = Logger.getLogger(JobLedger.class);

    @Inject
    AgroalDataSource ds;

    /**
     * The claim on a backup that should run now, or empty when it finished, another live worker runs it, or the
     * backup id was already taken for another source (see {@link #sourceOf}).
     */
    public Optional<Claim> claim(String backupId, String sourceId, String workerId) {
        Connection c = null;
        try {
            c = ds.getConnection();
            c.setAutoCommit(true);
            if (!lock(c, backupId)) {
                LOG.infof("backup %s is being taken by another worker; this delivery is skipped", backupId);
                c.close();
                return Optional.empty();
            }
            try (PreparedStatement ps = c.prepareStatement("""
                    insert into snapshot.job (backup_id, status, worker_id, attempts, started_at, source_id)
                    values (?::uuid, 'RUNNING', ?, 1, now(), ?)
                    on conflict (backup_id) do update
                       set status = 'RUNNING', worker_id = excluded.worker_id, attempts = job.attempts + 1,
                           started_at = now(), source_id = excluded.source_id
                     where job.status = 'RUNNING'
                       and (job.source_id is null or job.source_id = excluded.source_id)
                    returning attempts""")) {
                ps.setString(1, backupId);
                ps.setString(2, workerId);
                ps.setString(3, sourceId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        return Optional.of(new Claim(c, backupId));
                    }
                }
            }
            new Claim(c, backupId).close();
            return Optional.empty();
        } catch (SQLException e) {
            closeQuietly(c);
            throw new IllegalStateException("job ledger unavailable: " + e.getMessage(), e);
        }
    }

    /** The source a backup id was taken for, empty when this worker pool never took it (or did not record it). */
    public Optional<String> sourceOf(String backupId) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("select source_id from snapshot.job where backup_id = ?::uuid")) {
            ps.setString(1, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("job ledger unavailable: " + e.getMessage(), e);
        }
    }

    private static boolean lock(Connection c, String backupId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select pg_try_advisory_lock(hashtextextended(?, 0))")) {
            ps.setString(1, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // the pool discards a broken connection
            }
        }
    }

    /** A running backup: its ledger row and advisory lock, released by {@link #close()}. */
    public static final class Claim implements AutoCloseable {
        private final Connection connection;
        private final String backupId;

        Claim(Connection connection, String backupId) {
            this.connection = connection;
            this.backupId = backupId;
        }

        public void finish(String outcome) {
            try (PreparedStatement ps = connection.prepareStatement(
                    "update snapshot.job set status = ?, finished_at = now() where backup_id = ?::uuid")) {
                ps.setString(1, outcome);
                ps.setString(2, backupId);
                ps.executeUpdate();
            } catch (SQLException e) {
                throw new IllegalStateException("job ledger unavailable: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            try (PreparedStatement ps = connection.prepareStatement(
                    "select pg_advisory_unlock(hashtextextended(?, 0))")) {
                ps.setString(1, backupId);
                ps.execute();
            } catch (SQLException e) {
                LOG.warnf("could not release the lock of backup %s (released when the session ends): %s",
                        backupId, e.getMessage());
            } finally {
                closeQuietly(connection);
            }
        }
    }
}
