package dev.lifeboat.snapshot.repository;

import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;

/**
 * One row per backup this worker pool took on. It turns at-least-once delivery into one backup per id:
 * a finished backup is never redone, and while a worker runs a backup it holds a PostgreSQL advisory lock on
 * its id. The lock lives in the worker's database session, so it is a lease that lasts exactly as long as the worker:
 * a worker that dies (or whose host vanishes: the session's TCP keepalives give up within about a minute) releases it.
 * A copy of the request delivered to another worker while the lock is held (a rebalance while the backup runs) is
 * not acknowledged and forgotten: it waits for the lock, then acknowledges a backup that finished or takes over one
 * that its holder left RUNNING.
 */
@ApplicationScoped
public class JobLedger {
    private static final Logger LOG = Logger.getLogger(JobLedger.class);
    private static final String LOCK_NOT_AVAILABLE = "55P03";

    @Inject
    AgroalDataSource ds;

    /**
     * The claim on a backup that should run now, recording the policy (null for none) and type it runs for, or empty
     * when it finished or the backup id was already taken for another source (see {@link #sourceOf}). While another
     * live worker holds the backup, waits up to {@code wait} for it to finish or stop; {@link ClaimHeldException} when
     * it still holds it then.
     */
    public Optional<Claim> claim(String backupId, String sourceId, String policyId, String requestedType,
                                 String workerId, Duration wait) {
        Connection c = null;
        try {
            c = ds.getConnection();
            c.setAutoCommit(true);
            keepAlive(c);
            if (!lock(c, backupId)) {
                String holder = holder(c, backupId);
                LOG.infof("backup %s is being run by worker %s; this delivery waits up to %s for it to finish or stop",
                        backupId, holder, wait);
                if (!lockWithin(c, backupId, wait)) {
                    c.close();
                    throw new ClaimHeldException("backup " + backupId + " is still being run by worker "
                            + holder(backupId) + " after waiting " + wait + " for it; this delivery stays "
                            + "unacknowledged and is tried again (lifeboat.snapshot.claim-wait)");
                }
                LOG.infof("backup %s was released by worker %s", backupId, holder);
            }
            try (PreparedStatement ps = c.prepareStatement("""
                    insert into snapshot.job (backup_id, status, worker_id, attempts, started_at, source_id,
                                              first_started_at, policy_id, requested_type)
                    values (?::uuid, 'RUNNING', ?, 1, now(), ?, now(), ?, ?)
                    on conflict (backup_id) do update
                       set status = 'RUNNING', worker_id = excluded.worker_id, attempts = job.attempts + 1,
                           started_at = now(), source_id = excluded.source_id,
                           first_started_at = coalesce(job.first_started_at, job.started_at),
                           policy_id = excluded.policy_id, requested_type = excluded.requested_type
                     where job.status = 'RUNNING'
                       and (job.source_id is null or job.source_id = excluded.source_id)
                    returning attempts, first_started_at, clock_timestamp()""")) {
                ps.setString(1, backupId);
                ps.setString(2, workerId);
                ps.setString(3, sourceId);
                ps.setString(4, policyId);
                ps.setString(5, requestedType);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        java.time.Duration skew = java.time.Duration.between(rs.getTimestamp(3).toInstant(),
                                java.time.Instant.now());
                        return Optional.of(new Claim(c, backupId, rs.getTimestamp(2).toInstant(), skew));
                    }
                }
            }
            new Claim(c, backupId, null, java.time.Duration.ZERO).close();
            return Optional.empty();
        } catch (SQLException e) {
            closeQuietly(c);
            throw new IllegalStateException("job ledger unavailable: " + e.getMessage(), e);
        }
    }

    /** Another live worker still runs the backup after the delivery waited for it: try the delivery again later. */
    public static final class ClaimHeldException extends IllegalStateException
            implements dev.lifeboat.kit.retry.TransientFailure {
        public ClaimHeldException(String message) {
            super(message);
        }
    }

    /**
     * The server drops the session of a worker whose host vanished (and with it the lock) after about a minute of
     * unanswered keepalives, instead of the operating system's default of hours.
     */
    private static void keepAlive(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("set tcp_keepalives_idle = 30; set tcp_keepalives_interval = 10; set tcp_keepalives_count = 3");
        }
    }

    private static boolean lockWithin(Connection c, String backupId, Duration wait) throws SQLException {
        try (PreparedStatement timeout = c.prepareStatement("select set_config('lock_timeout', ?, false)")) {
            timeout.setString(1, Math.max(1, wait.toMillis()) + "ms");
            timeout.execute();
        }
        try (PreparedStatement ps = c.prepareStatement("select pg_advisory_lock(hashtextextended(?, 0))")) {
            ps.setString(1, backupId);
            ps.execute();
            return true;
        } catch (SQLException e) {
            if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
                return false;
            }
            throw e;
        } finally {
            try (Statement st = c.createStatement()) {
                st.execute("reset lock_timeout");
            }
        }
    }

    private static String holder(Connection c, String backupId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select worker_id, started_at from snapshot.job where backup_id = ?::uuid")) {
            ps.setString(1, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? "'" + rs.getString(1) + "' (since " + rs.getTimestamp(2).toInstant() + ")"
                        : "(not recorded yet)";
            }
        }
    }

    private String holder(String backupId) {
        try (Connection c = ds.getConnection()) {
            return holder(c, backupId);
        } catch (SQLException e) {
            return "(unknown: " + e.getMessage() + ")";
        }
    }

    /** A failure recorded by {@link Claim#failed}: what a BackupFailed of the backup said. */
    public record RecordedFailure(String stage, String reason) {
    }

    /** The failure recorded for a backup that ended FAILED; empty for any other backup. */
    public Optional<RecordedFailure> failureOf(String backupId) {
        return row("select failure_stage, failure_reason from snapshot.job where backup_id = ?::uuid"
                + " and status = 'FAILED' and failure_reason is not null", backupId,
                rs -> new RecordedFailure(rs.getString(1), rs.getString(2)));
    }

    /**
     * How a backup that ended with its snapshot created was requested: the policy (null for none) and the type. Empty
     * for any other backup, and for one recorded before the ledger kept them.
     */
    public record Finished(String policyId, String requestedType) {
    }

    public Optional<Finished> finishedOf(String backupId) {
        return row("select policy_id, requested_type from snapshot.job where backup_id = ?::uuid"
                + " and status = 'SNAPSHOT_CREATED' and requested_type is not null", backupId,
                rs -> new Finished(rs.getString(1), rs.getString(2)));
    }

    /**
     * Takes the turn to announce finished backup {@code backupId} again: true, and the time kept, when it was not
     * announced again within {@code interval}.
     */
    public boolean takeAnnouncement(String backupId, Duration interval) {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("update snapshot.job "
                + "set announced_again_at = now() where backup_id = ?::uuid and (announced_again_at is null "
                + "or announced_again_at < now() - make_interval(secs => ?))")) {
            ps.setString(1, backupId);
            ps.setDouble(2, interval.toMillis() / 1000.0);
            return ps.executeUpdate() == 1;
        } catch (SQLException e) {
            throw new IllegalStateException("job ledger unavailable: " + e.getMessage(), e);
        }
    }

    /** Gives back the turn {@link #takeAnnouncement} took, when the announcement could not be sent. */
    public void giveBackAnnouncement(String backupId) {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(
                "update snapshot.job set announced_again_at = null where backup_id = ?::uuid")) {
            ps.setString(1, backupId);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("job ledger unavailable: " + e.getMessage(), e);
        }
    }

    /** The manifest this worker pool wrote for a backup: its object key, chain and SHA-256 as stored. */
    public record WrittenManifest(String key, String chainId, String sha256) {
    }

    /**
     * Records the manifest about to be stored for {@code backupId} (before it is: a manifest stored is always one
     * recorded), replacing what an earlier attempt recorded.
     */
    public void recordManifest(String backupId, WrittenManifest manifest) {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("update snapshot.job set "
                + "manifest_key = ?, manifest_chain_id = ?, manifest_sha256 = ? where backup_id = ?::uuid")) {
            ps.setString(1, manifest.key());
            ps.setString(2, manifest.chainId());
            ps.setString(3, manifest.sha256());
            ps.setString(4, backupId);
            if (ps.executeUpdate() != 1) {
                throw new IllegalStateException("backup " + backupId + " has no job in the ledger to record its "
                        + "manifest in");
            }
        } catch (SQLException e) {
            throw new IllegalStateException("job ledger unavailable: " + e.getMessage(), e);
        }
    }

    /** The manifest recorded for {@code backupId}; empty when none was (or before the ledger kept them). */
    public Optional<WrittenManifest> manifestOf(String backupId) {
        return row("select manifest_key, manifest_chain_id, manifest_sha256 from snapshot.job where backup_id = ?::uuid"
                + " and manifest_sha256 is not null", backupId,
                rs -> new WrittenManifest(rs.getString(1), rs.getString(2), rs.getString(3)));
    }

    /** The source a backup id was taken for, empty when this worker pool never took it (or did not record it). */
    public Optional<String> sourceOf(String backupId) {
        return row("select source_id from snapshot.job where backup_id = ?::uuid", backupId, rs -> rs.getString(1));
    }

    private interface RowReader<T> {
        T read(ResultSet rs) throws SQLException;
    }

    /** The one row {@code sql} finds for {@code backupId}, as {@code reader} reads it; empty for none (or null). */
    private <T> Optional<T> row(String sql, String backupId, RowReader<T> reader) {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.ofNullable(reader.read(rs)) : Optional.empty();
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
        private final java.time.Instant firstStartedAt;
        private final java.time.Duration clockSkew;

        Claim(Connection connection, String backupId, java.time.Instant firstStartedAt,
              java.time.Duration clockSkew) {
            this.connection = connection;
            this.backupId = backupId;
            this.firstStartedAt = firstStartedAt;
            this.clockSkew = clockSkew;
        }

        /**
         * How far this worker's clock was ahead of the platform database's at the claim (negative: behind), plus the
         * claim's round trip: {@link #firstStartedAt} is the database's time, a chain id this worker's.
         */
        public java.time.Duration clockSkew() {
            return clockSkew;
        }

        /** When the first attempt of this backup started, on this worker or another: its deadline counts from there. */
        public java.time.Instant firstStartedAt() {
            return firstStartedAt;
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

        /** Ends the backup FAILED with what its BackupFailed says, so a later delivery can say it again. */
        public void failed(String stage, String reason) {
            try (PreparedStatement ps = connection.prepareStatement("update snapshot.job set status = 'FAILED',"
                    + " finished_at = now(), failure_stage = ?, failure_reason = ? where backup_id = ?::uuid")) {
                ps.setString(1, stage);
                ps.setString(2, reason);
                ps.setString(3, backupId);
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
