package dev.lifeboat.recovery.domain;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;

import java.time.Instant;

/** A disaster-recovery plan. Steps, RTO and RPO come with the recovery saga. */
@Entity
public class Plan extends PanacheEntityBase {
    @Id
    public String id;
    public String name;
    @Column(name = "created_at")
    public Instant createdAt;
}
