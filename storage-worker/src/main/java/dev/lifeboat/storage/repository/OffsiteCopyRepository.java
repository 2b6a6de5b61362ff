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

/** The {@code storage.offsite_copy} table, over plain JDBC: each call is one auto-committed statement. */
@ApplicationScoped
public class OffsiteCopyRepository {
    private static final String COLUMNS = "backup_id, outcome, bucket, prefix, manifest_key, event_id, "
            + "event_data::text, copied_at";

    private final AgroalDataSource dataSource;

    public OffsiteCopyRepository(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    public Optional<OffsiteCopy> find(UUID backupId) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS
                     + " FROM storage.offsite_copy WHERE backup_id = ?")) {
            ps.setObject(1, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(read(rs)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot read the offsite copy of backup " + backupId, e);
        }
    }

    /** Records a copy unless one is already stored, and returns the stored one (racing deliveries agree). */
    public OffsiteCopy record(OffsiteCopy copy) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     INSERT INTO storage.offsite_copy
                         (backup_id, outcome, bucket, prefix, manifest_key, event_id, event_data, copied_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?::jsonb, ?)
                     ON CONFLICT (backup_id) DO NOTHING""")) {
            ps.setObject(1, copy.backupId());
            ps.setString(2, copy.outcome().name());
            ps.setString(3, copy.bucket());
            ps.setString(4, copy.prefix());
            ps.setString(5, copy.manifestKey());
            ps.setObject(6, copy.eventId());
            ps.setString(7, copy.eventData());
            ps.setTimestamp(8, Timestamp.from(copy.copiedAt()));
            if (ps.executeUpdate() == 1) {
                return copy;
            }
        } catch (SQLException e) {
            throw new StorageDatabaseException("cannot record the offsite copy of backup " + copy.backupId(), e);
        }
        return find(copy.backupId()).orElseThrow(() -> new StorageDatabaseException(
                "offsite copy of backup " + copy.backupId() + " vanished after a conflicting insert", null));
    }

    private static OffsiteCopy read(ResultSet rs) throws SQLException {
        return new OffsiteCopy(rs.getObject(1, UUID.class), OffsiteCopy.Outcome.valueOf(rs.getString(2)),
                rs.getString(3), rs.getString(4), rs.getString(5), rs.getObject(6, UUID.class), rs.getString(7),
                rs.getTimestamp(8).toInstant());
    }
}
