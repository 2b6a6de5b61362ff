package dev.lifeboat.catalog.domain;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;

/** The newest WalStatus of a physical source, as its archiver reported it. */
@Entity
@Table(name = "wal_status")
public class WalArchiveStatus {
    @Id
    public String sourceId;
    public String workerId;
    public long leaseToken;
    public int timeline;
    public String archivedLsn;
    public Instant archivedAt;
    public String serverLsn;
    public Long lagBytes;
    public Double lagSeconds;
    public String continuityFrom;
    public String lastContiguousSegment;
    public boolean gap;
    public String firstMissingSegment;
    public String state;
    public String error;
    public Instant reportedAt;
    public Instant receivedAt;
}
