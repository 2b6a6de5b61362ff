package dev.lifeboat.recovery.domain;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.lifeboat.contracts.recovery.ClusterTarget;
import dev.lifeboat.contracts.recovery.DatabaseTarget;

import java.time.Instant;
import java.util.regex.Pattern;

/**
 * A place an admin registered where restores may go. Kind {@code database}: a PostgreSQL server that plans name;
 * only database names its {@code databasePattern} matches (whole-name match) may be created, replaced or dropped on
 * it. Kind {@code cluster}: where point-in-time restores (RestoreCluster) create new clusters: data directories
 * under {@code dataRoot} (which the restoring worker must allow in its own configuration too), listening on one of
 * {@code ports} ({@code first-last}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TargetServer(String name, String kind, String host, Integer port, String user, String passwordRef,
                           String databasePattern, String sslmode, String sslRootCertRef, String dataRoot,
                           String ports, Instant createdAt, Instant updatedAt, String createdBy, String updatedBy) {
    public static final String DATABASE = "database";
    public static final String CLUSTER = "cluster";

    /**
     * A database server; {@code sslmode} (libpq's) and {@code sslRootCertRef} (the CA certificate, a file reference)
     * for the workers' connections to it.
     */
    public TargetServer(String name, String host, int port, String user, String passwordRef, String databasePattern,
                        String sslmode, String sslRootCertRef) {
        this(name, DATABASE, host, port, user, passwordRef, databasePattern, sslmode, sslRootCertRef, null, null, null,
                null, null, null);
    }

    /** A place for restored clusters. */
    public static TargetServer cluster(String name, String dataRoot, String ports) {
        return new TargetServer(name, CLUSTER, null, null, null, null, null, null, null, dataRoot, ports, null, null,
                null, null);
    }

    @JsonIgnore
    public boolean isCluster() {
        return CLUSTER.equals(kind);
    }

    @JsonIgnore
    public boolean allows(String database) {
        return !isCluster() && database != null && Pattern.compile(databasePattern).matcher(database).matches();
    }

    /** Whether {@code port} is one of a cluster target's ports. */
    @JsonIgnore
    public boolean allowsPort(int port) {
        if (!isCluster()) {
            return false;
        }
        String[] range = ports.split("-", 2);
        return port >= Integer.parseInt(range[0]) && port <= Integer.parseInt(range[range.length - 1]);
    }

    /**
     * The database {@code database} on this server, as the participants' commands carry it: with this server's name,
     * by which snapshot-worker reads the registration again and refuses a command whose values differ from it.
     */
    public DatabaseTarget target(String database) {
        return new DatabaseTarget(host, port, database, user, passwordRef, name);
    }

    /** The cluster {@code clusterName} on {@code port} under this target's data root. */
    public ClusterTarget cluster(String clusterName, int port) {
        return new ClusterTarget(dataRoot, clusterName, port);
    }

    public TargetServer withTimes(Instant created, Instant updated) {
        return new TargetServer(name, kind, host, port, user, passwordRef, databasePattern, sslmode, sslRootCertRef,
                dataRoot, ports, created, updated, createdBy, updatedBy);
    }

    /** Who registered it and who last replaced it (the bearer token's subjects). */
    public TargetServer withAuthors(String created, String updated) {
        return new TargetServer(name, kind, host, port, user, passwordRef, databasePattern, sslmode, sslRootCertRef,
                dataRoot, ports, createdAt, updatedAt, created, updated);
    }
}
