package dev.lifeboat.catalog.domain;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import org.hibernate.annotations.JdbcTypeCode;
import org.hibernate.type.SqlTypes;

import java.time.Instant;

/** One event as received. Rows are written once, by event id, and never change. */
@Entity
@Table(name = "backup_event")
public class BackupEvent {
    @Id
    public String eventId;
    public String backupId;
    /** The CloudEvents type, e.g. dev.lifeboat.backup.completed.v1. */
    public String eventType;
    /** The event's own time (ce_time). */
    public Instant occurredAt;
    public Instant receivedAt;
    /** The event data as JSON text (jsonb in the table). */
    @JdbcTypeCode(SqlTypes.JSON)
    public String data;
}
