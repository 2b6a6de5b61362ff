package dev.lifeboat.catalog.domain;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;
import org.hibernate.annotations.JdbcTypeCode;
import org.hibernate.type.SqlTypes;

import java.time.Instant;

/**
 * One event as received, in the history of one backup. Rows are written once, by event id and backup id (an
 * event about several backups, BackupsExpired, has one row per backup), and never change.
 */
@Entity
@Table(name = "backup_event")
@IdClass(BackupEvent.Key.class)
public class BackupEvent {
    @Id
    public String eventId;
    @Id
    public String backupId;
    /** The CloudEvents type, e.g. dev.lifeboat.backup.completed.v1. */
    public String eventType;
    /** The event's own time (ce_time). */
    public Instant occurredAt;
    public Instant receivedAt;
    /** The event data as JSON text (jsonb in the table). */
    @JdbcTypeCode(SqlTypes.JSON)
    public String data;

    /** The primary key: event id and the backup whose history the row belongs to. */
    public record Key(String eventId, String backupId) implements java.io.Serializable {
        public Key() {
            this(null, null);
        }
    }
}
