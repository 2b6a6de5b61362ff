package dev.lifeboat.scheduler.domain;

import dev.lifeboat.contracts.BackupType;
import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;

import java.time.Instant;

/** When and how to back a source up, how long to keep it, and where it goes. */
@Entity
public class Policy extends PanacheEntityBase {
    @Id
    public String id;
    @Column(name = "source_id")
    public String sourceId;
    @Enumerated(EnumType.STRING)
    @Column(name = "backup_type")
    public BackupType type;
    /** Five-field Unix cron expression, evaluated in UTC. */
    public String schedule;
    @Column(name = "keep_daily")
    public int keepDaily;
    @Column(name = "keep_weekly")
    public int keepWeekly;
    @Column(name = "keep_monthly")
    public int keepMonthly;
    public String bucket;
    public String prefix;
    /** Optional second destination, on the same object-store endpoint: every completed backup is copied there. */
    @Column(name = "offsite_bucket")
    public String offsiteBucket;
    @Column(name = "offsite_prefix")
    public String offsitePrefix;
    /** Recovery point objective as an ISO-8601 duration (PT24H). */
    public String rpo;
    /**
     * The longest one backup of this policy may run (ISO-8601, PT6H); snapshot-worker stops it there and reports it
     * FAILED with the stage it was in.
     */
    @Column(name = "max_duration")
    public String maxDuration;
    public boolean enabled;
    @Column(name = "created_at")
    public Instant createdAt;
    @Column(name = "updated_at")
    public Instant updatedAt;
    /** The bearer token's subject of the request that registered it, and of the last one that replaced it. */
    @Column(name = "created_by")
    public String createdBy;
    @Column(name = "updated_by")
    public String updatedBy;
    /** The latest cron slot recorded as a backup request (null before the first). */
    @Column(name = "last_fire_at")
    public Instant lastFireAt;
}
