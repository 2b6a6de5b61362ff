package dev.lifeboat.snapshot.repository;

import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * One row per backup this worker pool took on. It turns at-least-once delivery into one backup per id:
 * a finished backup is never redone; a RUNNING one whose worker died is redone from scratch.
 */
@ApplicationScoped
public class JobLedger {
    @Inject
    AgroalDataSource ds;

    /** True when the backup should run now (new, or left RUNNING by a worker that died). */
    public boolean start(String backupId, String workerId) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     insert into snapshot.job (backup_id, status, worker_id, attempts, started_at)
                     values (?::uuid, 'RUNNING', ?, 1, now())
                     on conflict (backup_id) do update
                        set status = 'RUNNING', worker_id = excluded.worker_id, attempts = job.attempts + 1,
                            started_at = now()
                      where job.status = 'RUNNING'
                     returning attempts""")) {
            ps.setString(1, backupId);
            ps.setString(2, workerId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("job ledger unavailable: " + e.getMessage(), e);
        }
    }

    public void finish(String backupId, String outcome) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "update snapshot.job set status = ?, finished_at = now() where backup_id = ?::uuid")) {
            ps.setString(1, outcome);
            ps.setString(2, backupId);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("job ledger unavailable: " + e.getMessage(), e);
        }
    }
}
