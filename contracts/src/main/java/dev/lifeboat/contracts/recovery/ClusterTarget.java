package dev.lifeboat.contracts.recovery;

/**
 * A new PostgreSQL cluster a point-in-time restore creates: data directory {@code dataRoot}/{@code name}, listening
 * on 127.0.0.1:{@code port}. {@code dataRoot} must be one the restoring worker allows in its own configuration and
 * {@code port} one of its allowed ports: the coordinator's registered target says the same, and the worker checks it
 * again.
 */
public record ClusterTarget(String dataRoot, String name, int port) {

    /** root/name:port, for messages and logs. */
    public String describe() {
        return dataRoot + "/" + name + " (port " + port + ")";
    }
}
