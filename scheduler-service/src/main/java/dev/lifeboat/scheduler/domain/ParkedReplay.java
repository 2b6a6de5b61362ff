package dev.lifeboat.scheduler.domain;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;
import java.util.UUID;

/** One replay of a held record to its origin topic: which record, when, by whom, and where the copy went. */
@Entity
@Table(name = "parked_replay")
public class ParkedReplay extends PanacheEntityBase {
    @Id
    public UUID id;
    @Column(name = "held_topic")
    public String heldTopic;
    @Column(name = "held_partition")
    public int heldPartition;
    @Column(name = "held_offset")
    public long heldOffset;
    /** The held record's CloudEvent id, when it had one. */
    @Column(name = "held_event_id")
    public String heldEventId;
    @Column(name = "replayed_at")
    public Instant replayedAt;
    @Column(name = "replayed_by")
    public String replayedBy;
    /** Where the copy went; null while the replay is claimed and its copy not acknowledged yet. */
    @Column(name = "copy_topic")
    public String copyTopic;
    @Column(name = "copy_partition")
    public Integer copyPartition;
    @Column(name = "copy_offset")
    public Long copyOffset;
    /** A replay the order forced: outside the one-claim-per-record rule. */
    @Column(name = "forced")
    public boolean forced;
    /** Where the copy is sent (the held record's origin topic); null on claims made before it was recorded. */
    @Column(name = "origin_topic")
    public String originTopic;

    /** Where the copy went, as the answers say it. */
    public String copy() {
        return copyTopic == null ? "(its copy not recorded yet)" : copyTopic + "-" + copyPartition + "@" + copyOffset;
    }

    /** The held record this replay is of, as the answers name it. */
    public String held() {
        return heldTopic + "-" + heldPartition + "@" + heldOffset;
    }
}
