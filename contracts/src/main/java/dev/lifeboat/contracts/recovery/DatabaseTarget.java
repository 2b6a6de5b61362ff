package dev.lifeboat.contracts.recovery;

/**
 * A PostgreSQL database a recovery step works on. The password never travels: {@code passwordRef} is a secret
 * reference ({@code env:NAME} or {@code file:/path}) that the participant resolves in its own environment.
 */
public record DatabaseTarget(String host, int port, String database, String user, String passwordRef) {

    public DatabaseTarget withDatabase(String name) {
        return new DatabaseTarget(host, port, name, user, passwordRef);
    }

    /** host:port/database, for messages and logs. */
    public String describe() {
        return host + ":" + port + "/" + database;
    }
}
