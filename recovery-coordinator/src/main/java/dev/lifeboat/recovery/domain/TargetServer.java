package dev.lifeboat.recovery.domain;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.lifeboat.contracts.recovery.DatabaseTarget;

import java.time.Instant;
import java.util.regex.Pattern;

/**
 * A PostgreSQL server an admin registered as a place restores may go to. Plans name it; only database names its
 * {@code databasePattern} matches (whole-name match) may be created, replaced or dropped on it.
 */
public record TargetServer(String name, String host, int port, String user, String passwordRef,
                           String databasePattern, Instant createdAt, Instant updatedAt) {

    @JsonIgnore
    public boolean allows(String database) {
        return database != null && Pattern.compile(databasePattern).matcher(database).matches();
    }

    /** The database {@code database} on this server, as the participants' commands carry it. */
    public DatabaseTarget target(String database) {
        return new DatabaseTarget(host, port, database, user, passwordRef);
    }

    public TargetServer withTimes(Instant created, Instant updated) {
        return new TargetServer(name, host, port, user, passwordRef, databasePattern, created, updated);
    }
}
