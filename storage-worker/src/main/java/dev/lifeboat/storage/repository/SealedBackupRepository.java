package dev.lifeboat.storage.repository;

import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** The {@code storage.sealed_backup} table, over plain JDBC: each call is one auto-committed statement. */
@ApplicationScoped
public class SealedBackupRepository {
    private static final String COLUMNS = "backup_id, outcome, manifest_key, event_id, event_data::text, sealed_at";

    private final AgroalDataSource dataSource;

    public SealedBackupRepository(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    public Optional<SealedBackup> find(UUID backupId) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "SELECT " + COLUMNS + " FROM storage.sealed_backup WHERE backup_id = ?")) {
            ps.setObject(1, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(read(rs)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot read sealed backup " + backupId, e);
        }
    }

    /** Completed backups that were not deleted since, oldest first (what a scheduled full verification covers). */
    public List<SealedBackup> completedNotDeleted() {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM storage.sealed_backup s "
                     + "WHERE outcome = 'COMPLETED' AND NOT EXISTS "
                     + "(SELECT 1 FROM storage.deleted_backup d WHERE d.backup_id = s.backup_id) ORDER BY sealed_at");
             ResultSet rs = ps.executeQuery()) {
            List<SealedBackup> out = new ArrayList<>();
            while (rs.next()) {
                out.add(read(rs));
            }
            return out;
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot list the completed backups", e);
        }
    }

    /**
     * Every backup of {@code sourceId} this worker verified and sealed (BackupCompleted), deleted ones included,
     * with whether it was deleted since: what retention is recomputed from before a deletion.
     */
    public List<SourceSeal> completedOfSource(String sourceId) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + ", EXISTS (SELECT 1 FROM "
                     + "storage.deleted_backup d WHERE d.backup_id = s.backup_id) FROM storage.sealed_backup s "
                     + "WHERE outcome = 'COMPLETED' AND event_data->>'sourceId' = ?")) {
            ps.setString(1, sourceId);
            try (ResultSet rs = ps.executeQuery()) {
                List<SourceSeal> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(new SourceSeal(read(rs), rs.getBoolean(7)));
                }
                return out;
            }
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot list the sealed backups of source " + sourceId, e);
        }
    }

    /** A sealed backup of a source, and whether this worker deleted it since. */
    public record SourceSeal(SealedBackup seal, boolean deleted) {
    }

    /**
     * (bucket, manifest key) of every completed chunked backup, deleted ones included: the repositories this worker
     * knows, which scheduled garbage collection walks. Many rows per repository; the caller reduces them.
     */
    public List<String[]> chunkedManifestKeys() {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT DISTINCT event_data->>'bucket', manifest_key "
                     + "FROM storage.sealed_backup WHERE outcome = 'COMPLETED' AND manifest_key IS NOT NULL "
                     + "AND jsonb_typeof(event_data->'repository') = 'object'");
             ResultSet rs = ps.executeQuery()) {
            List<String[]> out = new ArrayList<>();
            while (rs.next()) {
                out.add(new String[] {rs.getString(1), rs.getString(2)});
            }
            return out;
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot list the repositories of the sealed backups", e);
        }
    }

    /**
     * Manifest key to the manifest SHA-256 sealed for it, of every completed backup not deleted since whose manifest
     * is in {@code bucket} under {@code chainsRoot} (one repository's {@code <prefix>/chains/}), and of every offsite
     * copy (COPIED) of such a backup there, whose manifest bytes are the sealed ones (the copy checked that): what
     * garbage collection and WAL retention check a repository's manifests against, asked by each collector at the
     * start of its pass (and by garbage collection again before a sweep). A seal without a SHA-256 maps to "", which
     * no manifest matches.
     */
    public Map<String, String> sealedManifestSha256(String bucket, String chainsRoot) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT s.manifest_key, coalesce(s.event_data->>'sha256', '') "
                     + "FROM storage.sealed_backup s WHERE s.outcome = 'COMPLETED' AND s.event_data->>'bucket' = ? "
                     + "AND starts_with(s.manifest_key, ?) AND NOT EXISTS "
                     + "(SELECT 1 FROM storage.deleted_backup d WHERE d.backup_id = s.backup_id) "
                     + "UNION ALL SELECT o.manifest_key, coalesce(s.event_data->>'sha256', '') "
                     + "FROM storage.offsite_copy o JOIN storage.sealed_backup s ON s.backup_id = o.backup_id "
                     + "WHERE o.outcome = 'COPIED' AND s.outcome = 'COMPLETED' AND o.bucket = ? "
                     + "AND starts_with(o.manifest_key, ?) AND NOT EXISTS "
                     + "(SELECT 1 FROM storage.deleted_backup d WHERE d.backup_id = s.backup_id)")) {
            ps.setString(1, bucket);
            ps.setString(2, chainsRoot);
            ps.setString(3, bucket);
            ps.setString(4, chainsRoot);
            try (ResultSet rs = ps.executeQuery()) {
                Map<String, String> out = new HashMap<>();
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getString(2));
                }
                return out;
            }
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot list the sealed manifests of s3://" + bucket + "/" + chainsRoot,
                    e);
        }
    }

    /**
     * Records a verdict unless one is already stored for the backup, and returns the stored one: when two
     * deliveries of the same SnapshotCreated race (a rebalance), both emit the verdict that won. {@code jobs} (the
     * long work the verdict asks for, such as an offsite copy) are queued in the same transaction, and only when
     * this call inserted the verdict: a crash cannot leave a sealed backup whose copy was never queued.
     */
    public Recorded record(SealedBackup verdict, List<StorageJob.New> jobs) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("""
                    INSERT INTO storage.sealed_backup
                        (backup_id, outcome, manifest_key, event_id, event_data, sealed_at)
                    VALUES (?, ?, ?, ?, ?::jsonb, ?)
                    ON CONFLICT (backup_id) DO NOTHING""")) {
                ps.setObject(1, verdict.backupId());
                ps.setString(2, verdict.outcome().name());
                if (verdict.manifestKey() == null) {
                    ps.setNull(3, Types.VARCHAR);
                } else {
                    ps.setString(3, verdict.manifestKey());
                }
                ps.setObject(4, verdict.eventId());
                ps.setString(5, verdict.eventData());
                ps.setTimestamp(6, Timestamp.from(verdict.sealedAt()));
                boolean inserted = ps.executeUpdate() == 1;
                if (inserted) {
                    for (StorageJob.New job : jobs) {
                        StorageJobRepository.add(c, job);
                    }
                }
                c.commit();
                if (inserted) {
                    return new Recorded(verdict, true);
                }
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot record the verdict on backup " + verdict.backupId(), e);
        }
        return new Recorded(find(verdict.backupId()).orElseThrow(() -> new StorageDatabaseException(
                "verdict on backup " + verdict.backupId() + " vanished after a conflicting insert", null)), false);
    }

    private static SealedBackup read(ResultSet rs) throws SQLException {
        return new SealedBackup(
                rs.getObject(1, UUID.class),
                SealedBackup.Outcome.valueOf(rs.getString(2)),
                rs.getString(3),
                rs.getObject(4, UUID.class),
                rs.getString(5),
                rs.getTimestamp(6).toInstant());
    }

    /** {@code inserted} is false when an earlier delivery had already stored {@code verdict}. */
    public record Recorded(SealedBackup verdict, boolean inserted) {
    }
}
