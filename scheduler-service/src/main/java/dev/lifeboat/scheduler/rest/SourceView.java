package dev.lifeboat.scheduler.rest;

import dev.lifeboat.scheduler.domain.Source;

import java.time.Instant;

public record SourceView(String id, String name, String kind, String method, String host, int port, String database, String username,
                         String passwordRef, String sslmode, String sslRootCertRef, Instant createdAt,
                         Instant updatedAt, String createdBy, String updatedBy) {
    public static SourceView of(Source s) {
        return new SourceView(s.id, s.name, s.kind, s.method, s.host, s.port, s.database, s.username, s.passwordRef,
                s.sslmode, s.sslRootCertRef, s.createdAt, s.updatedAt, s.createdBy,
                s.updatedBy);
    }
}
