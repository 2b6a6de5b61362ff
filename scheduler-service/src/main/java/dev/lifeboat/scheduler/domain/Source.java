package dev.lifeboat.scheduler.domain;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;

import java.time.Instant;

/** A database Lifeboat backs up. The password is a reference resolved by the worker that connects. */
@Entity
public class Source extends PanacheEntityBase {
    @Id
    public String id;
    public String name;
    public String kind;
    /** logical (pg_dump of {@link #database}) or physical (the whole cluster over the replication protocol). */
    public String method;
    public String host;
    public int port;
    @Column(name = "database_name")
    public String database;
    public String username;
    @Column(name = "password_ref")
    public String passwordRef;
    /** libpq sslmode of every connection to the source. */
    public String sslmode;
    @Column(name = "ssl_root_cert_ref")
    public String sslRootCertRef;
    @Column(name = "created_at")
    public Instant createdAt;
    @Column(name = "updated_at")
    public Instant updatedAt;
    /** The bearer token's subject of the request that registered it, and of the last one that replaced it. */
    @Column(name = "created_by")
    public String createdBy;
    @Column(name = "updated_by")
    public String updatedBy;
}
