package dev.lifeboat.storage.repository;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonProcessingException;

import dev.lifeboat.contracts.EventCodec;
import io.agroal.api.AgroalDataSource;

/**
 * What a restore may use, over {@code storage.sealed_backup}, {@code storage.deleted_backup} and
 * {@code storage.backup_verification}: completed, not deleted, and not failed at its latest verification.
 */
@ApplicationScoped
public class RestorableBackupRepository {
    private static final String USABLE = "s.outcome = 'COMPLETED'"
            + " AND NOT EXISTS (SELECT 1 FROM storage.deleted_backup d WHERE d.backup_id = s.backup_id)"
            + " AND NOT EXISTS (SELECT 1 FROM storage.backup_verification v WHERE v.backup_id = s.backup_id"
            + " AND NOT v.ok)";

    private final AgroalDataSource dataSource;

    public RestorableBackupRepository(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Usable backups of a source, newest first (by the time they were sealed). */
    public List<UUID> usableOf(String sourceId) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT s.backup_id FROM storage.sealed_backup s WHERE "
                     + USABLE + " AND s.event_data ->> 'sourceId' = ? ORDER BY s.sealed_at DESC")) {
            ps.setString(1, sourceId);
            try (ResultSet rs = ps.executeQuery()) {
                List<UUID> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(rs.getObject(1, UUID.class));
                }
                return out;
            }
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot list the usable backups of source " + sourceId, e);
        }
    }

    /** The problems of the backup's latest verification when it failed. */
    public Optional<String> failedVerification(UUID backupId) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT level || ' verification at ' || verified_at || ': '"
                     + " || problems::text FROM storage.backup_verification WHERE backup_id = ? AND NOT ok")) {
            ps.setObject(1, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot read the verification of backup " + backupId, e);
        }
    }

    /** Records the outcome of a verification, replacing the previous one of the backup. */
    public void recordVerification(UUID backupId, String level, boolean ok, List<String> problems) {
        String json;
        try {
            json = EventCodec.mapper().writeValueAsString(problems);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     INSERT INTO storage.backup_verification (backup_id, level, ok, problems, verified_at)
                     VALUES (?, ?, ?, ?::jsonb, now())
                     ON CONFLICT (backup_id) DO UPDATE SET level = excluded.level, ok = excluded.ok,
                         problems = excluded.problems, verified_at = excluded.verified_at""")) {
            ps.setObject(1, backupId);
            ps.setString(2, level);
            ps.setBoolean(3, ok);
            ps.setString(4, json);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot record the verification of backup " + backupId, e);
        }
    }
}
