package dev.lifeboat.scheduler.domain;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;
import java.util.UUID;

/** An event waiting to be relayed. Its id is the CloudEvent id, so a re-sent row is recognised downstream. */
@Entity
@Table(name = "outbox")
public class OutboxEvent extends PanacheEntityBase {
    @Id
    public UUID id;
    public String topic;
    @Column(name = "message_key")
    public String messageKey;
    @Column(name = "event_type")
    public String eventType;
    public String payload;
    @Column(name = "created_at")
    public Instant createdAt;
    @Column(name = "sent_at")
    public Instant sentAt;
    /** Set, with {@link #failure}, when Kafka can never take this row; it is not sent again. */
    @Column(name = "failed_at")
    public Instant failedAt;
    public String failure;
}
