package dev.lifeboat.snapshot.domain;

import java.time.Instant;
import java.util.List;

/**
 * Whether this worker can back up a source now: reached with the source's own credentials, the server's version, the
 * client programs that would run against it, and every privilege or setting the source's method needs that it lacks,
 * each with the statement or setting that fixes it. Never holds the password.
 *
 * @param status     READY: nothing missing; MISSING: reached, something in {@code missing}; UNREACHABLE: not
 *                   connected, {@code unreachable} says why (and server, tools and privileges are unknown)
 * @param satisfied  what was checked and found in place, in words
 * @param tookMillis how long the check took
 */
public record SourceReadiness(String sourceId, String method, String host, int port, String database, String user,
                              String sslmode, Status status, Unreachable unreachable, Server server, List<Tool> tools,
                              List<String> satisfied, List<Missing> missing, Instant checkedAt, long tookMillis) {

    public enum Status {
        READY, MISSING, UNREACHABLE
    }

    /** Why a connection to a source failed, in the terms a DBA acts on. */
    public enum Refusal {
        /** The host name does not resolve. */
        DNS,
        /** Nothing listens at the address (or a firewall rejects the connection). */
        REFUSED,
        /** No answer within the connect timeout. */
        TIMEOUT,
        TLS,
        /** Wrong password, or pg_hba.conf has no line admitting the user from this worker. */
        AUTHENTICATION_FAILED,
        NO_DATABASE,
        /** The source's passwordRef or sslRootCertRef cannot be resolved on this worker. */
        CREDENTIALS,
        OTHER
    }

    /** A failed connection: its kind and a message naming what, where and what to check (never a password). */
    public record Unreachable(Refusal reason, String message) {
    }

    /** {@code databaseBytes}: pg_database_size of the source's database. */
    public record Server(String version, int versionNum, long databaseBytes) {
    }

    /**
     * A PostgreSQL client program this worker would run for the source: {@code path} null when none that can work
     * with the server is installed; {@code sameMajor} false when a newer major version's program stands in.
     */
    public record Tool(String name, String path, String version, boolean sameMajor) {
    }

    /** Something the source lacks, and the statement or setting (run by a superuser or the owner) that fixes it. */
    public record Missing(String what, String fix) {
    }
}
