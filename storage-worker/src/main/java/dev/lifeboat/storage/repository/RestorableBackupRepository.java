package dev.lifeboat.storage.repository;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonProcessingException;

import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.repository.snapshot.retention.Integrity;
import io.agroal.api.AgroalDataSource;

/**
 * What a restore may use, over {@code storage.sealed_backup}, {@code storage.deleted_backup} and
 * {@code storage.backup_verification}: completed, not deleted, and not found corrupt by its latest conclusive
 * verification. A verification that could not read the store changes nothing here.
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

    /**
     * Records one verification. A conclusive one (PASSED or CORRUPT) replaces the stored verdict unless that is
     * newer (deliveries and parallel runs may finish out of order) and clears an older "unreadable now"; an
     * UNREADABLE one is kept beside the verdict and never changes it.
     */
    public void recordVerification(UUID backupId, String level, String outcome, List<String> problems,
                                   Instant verifiedAt) {
        String json;
        try {
            json = EventCodec.mapper().writeValueAsString(problems);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        boolean unreadable = BackupVerified.UNREADABLE.equals(outcome);
        String sql = unreadable ? """
                INSERT INTO storage.backup_verification (backup_id, unreadable_at, unreadable_problems)
                VALUES (?, ?, ?::jsonb)
                ON CONFLICT (backup_id) DO UPDATE SET unreadable_at = excluded.unreadable_at,
                    unreadable_problems = excluded.unreadable_problems
                WHERE (backup_verification.unreadable_at IS NULL
                        OR backup_verification.unreadable_at <= excluded.unreadable_at)
                    AND (backup_verification.verified_at IS NULL
                        OR backup_verification.verified_at <= excluded.unreadable_at)"""
                : """
                INSERT INTO storage.backup_verification (backup_id, verified_at, problems, level, ok, outcome)
                VALUES (?, ?, ?::jsonb, ?, ?, ?)
                ON CONFLICT (backup_id) DO UPDATE SET level = excluded.level, ok = excluded.ok,
                    outcome = excluded.outcome, problems = excluded.problems, verified_at = excluded.verified_at,
                    unreadable_at = CASE WHEN backup_verification.unreadable_at <= excluded.verified_at THEN NULL
                        ELSE backup_verification.unreadable_at END,
                    unreadable_problems = CASE WHEN backup_verification.unreadable_at <= excluded.verified_at
                        THEN NULL ELSE backup_verification.unreadable_problems END
                WHERE backup_verification.verified_at IS NULL
                    OR backup_verification.verified_at <= excluded.verified_at""";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setObject(1, backupId);
            ps.setTimestamp(2, Timestamp.from(verifiedAt));
            ps.setString(3, json);
            if (!unreadable) {
                ps.setString(4, level);
                ps.setBoolean(5, BackupVerified.PASSED.equals(outcome));
                ps.setString(6, outcome);
            }
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot record the verification of backup " + backupId, e);
        }
    }

    /** The integrity retention sees for each of {@code backupIds} that has a conclusive verdict. */
    public Map<UUID, Integrity> integrityOf(Collection<UUID> backupIds) {
        Map<UUID, Integrity> out = new HashMap<>();
        if (backupIds.isEmpty()) {
            return out;
        }
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT backup_id, outcome, level FROM "
                     + "storage.backup_verification WHERE outcome IS NOT NULL AND backup_id = ANY (?)")) {
            ps.setArray(1, c.createArrayOf("uuid", backupIds.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getObject(1, UUID.class), integrity(rs.getString(2), rs.getString(3)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot read the verdicts of " + backupIds.size() + " backups", e);
        }
    }

    /** CORRUPT when a verification found it so; VERIFIED only after a full verification passed. */
    public static Integrity integrity(String outcome, String level) {
        if (BackupVerified.CORRUPT.equals(outcome)) {
            return Integrity.CORRUPT;
        }
        return BackupVerified.PASSED.equals(outcome) && BackupVerified.FULL.equals(level) ? Integrity.VERIFIED
                : Integrity.UNVERIFIED;
    }
}
