package dev.lifeboat.contracts.recovery;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A PostgreSQL database a recovery step works on. The password never travels: {@code passwordRef} is a secret
 * reference ({@code env:NAME} or {@code file:/path}) that the participant resolves in its own environment.
 * {@code server} is the name of the target server an admin registered in recovery-coordinator
 * ({@code PUT /api/v1/targets/{name}}); snapshot-worker reads that registration itself and acts only when host,
 * port, user and passwordRef are the registered ones and the database matches its pattern. Null from coordinators
 * before it, whose commands the worker refuses.
 */
public record DatabaseTarget(String host, int port, String database, String user, String passwordRef,
                             String server,
                             @JsonInclude(JsonInclude.Include.NON_NULL) String sslmode,
                             @JsonInclude(JsonInclude.Include.NON_NULL) String sslRootCertRef) {

    /**
     * The database on registered target server {@code server}, as commands carry it: the TLS of the connections to it
     * ({@code sslmode}, {@code sslRootCertRef}) the worker takes from the registration alone, never from a command.
     */
    public DatabaseTarget(String host, int port, String database, String user, String passwordRef, String server) {
        this(host, port, database, user, passwordRef, server, null, null);
    }

    /** A target that names no registered server: a restored cluster's socket, or a command of an older coordinator. */
    public DatabaseTarget(String host, int port, String database, String user, String passwordRef) {
        this(host, port, database, user, passwordRef, null);
    }

    public DatabaseTarget withDatabase(String name) {
        return new DatabaseTarget(host, port, name, user, passwordRef, server, sslmode, sslRootCertRef);
    }

    /** host:port/database, for messages and logs. */
    public String describe() {
        return host + ":" + port + "/" + database;
    }
}
