package dev.lifeboat.storage.repository;

import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.Optional;
import java.util.UUID;

/** The {@code storage.deleted_backup} table, over plain JDBC: each call is one auto-committed statement. */
@ApplicationScoped
public class DeletedBackupRepository {
    private static final String COLUMNS = "d.backup_id, s.event_data->>'sourceId', d.policy_id, d.event_id, "
            + "d.event_data::text, d.deleted_at";

    private final AgroalDataSource dataSource;

    public DeletedBackupRepository(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    public Optional<DeletedBackup> find(UUID backupId) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM storage.deleted_backup d "
                     + "JOIN storage.sealed_backup s USING (backup_id) WHERE d.backup_id = ?")) {
            ps.setObject(1, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(read(rs)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot read the deletion of backup " + backupId, e);
        }
    }

    /**
     * Records a deletion unless one is already stored, and returns the stored one: two deliveries racing each
     * other both emit the event that won. {@code jobs} (the garbage-collection pass the deletion asks for) are
     * queued in the same transaction, when this call inserted the deletion.
     */
    public DeletedBackup record(DeletedBackup deletion, java.util.List<StorageJob.New> jobs) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("""
                    INSERT INTO storage.deleted_backup (backup_id, policy_id, event_id, event_data, deleted_at)
                    VALUES (?, ?, ?, ?::jsonb, ?)
                    ON CONFLICT (backup_id) DO NOTHING""")) {
                ps.setObject(1, deletion.backupId());
                ps.setString(2, deletion.policyId());
                ps.setObject(3, deletion.eventId());
                ps.setString(4, deletion.eventData());
                ps.setTimestamp(5, Timestamp.from(deletion.deletedAt()));
                boolean inserted = ps.executeUpdate() == 1;
                if (inserted) {
                    for (StorageJob.New job : jobs) {
                        StorageJobRepository.add(c, job);
                    }
                }
                c.commit();
                if (inserted) {
                    return deletion;
                }
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot record the deletion of backup " + deletion.backupId(), e);
        }
        return find(deletion.backupId()).orElseThrow(() -> new StorageDatabaseException(
                "deletion of backup " + deletion.backupId() + " vanished after a conflicting insert", null));
    }

    private static DeletedBackup read(ResultSet rs) throws SQLException {
        return new DeletedBackup(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3),
                rs.getObject(4, UUID.class), rs.getString(5), rs.getTimestamp(6).toInstant());
    }
}
