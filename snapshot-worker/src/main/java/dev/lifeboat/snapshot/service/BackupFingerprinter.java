package dev.lifeboat.snapshot.service;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import org.jboss.logging.Logger;

import dev.lifeboat.repository.snapshot.TableFingerprints;
import dev.lifeboat.snapshot.domain.BackupFailure;

/**
 * Fingerprints the tables of a source in the very snapshot pg_dump dumps: a REPEATABLE READ transaction exports
 * its snapshot ({@link #snapshotId()}, for {@code pg_dump --snapshot}), then hashes every table in that same
 * transaction on its own thread while pg_dump runs. Writes going on meanwhile are seen by neither. The transaction
 * stays open until {@link #close()}, after pg_dump (and its parallel workers) have imported the snapshot.
 * A table that cannot be hashed is left out (logged), not the backup: its TABLE_MATCHES_SOURCE check then fails
 * saying the backup recorded nothing for it.
 */
public final class BackupFingerprinter implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(BackupFingerprinter.class);

    private final Connection connection;
    private final String snapshotId;
    private volatile boolean stopping;
    private CompletableFuture<TableFingerprints> result;

    private BackupFingerprinter(Connection connection, String snapshotId) {
        this.connection = connection;
        this.snapshotId = snapshotId;
    }

    public static BackupFingerprinter open(String host, int port, String database, String user, String password,
                                    int timeoutSeconds) {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("connectTimeout", String.valueOf(timeoutSeconds));
        return open("jdbc:postgresql://" + host + ":" + port + "/" + database, props,
                host + ":" + port + "/" + database);
    }

    /**
     * Over the source's own connection settings (password and TLS as resolved for this backup). Hashing a large
     * table is one long statement: reads may wait until the backup's deadline, not beyond.
     */
    static BackupFingerprinter open(SourceConnection source, int timeoutSeconds, Deadline deadline) {
        return open(source.jdbcUrl(), source.jdbcProperties(timeoutSeconds,
                (int) Math.max(1, deadline.remaining().toSeconds() + 1)), source.toString());
    }

    /**
     * On a connection to the source the backup opened already (its probe's), which it takes over and closes: one
     * connection (TLS, authentication) less before pg_dump can start. Its reads may wait until the backup's deadline.
     */
    static BackupFingerprinter on(Connection c, String where, Deadline deadline) {
        try {
            c.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE,
                    deadline.remaining().toMillis() + 1000));
        } catch (SQLException e) {
            closeQuietly(c);
            throw failedToBegin(where, e);
        }
        return begin(c, where);
    }

    private static BackupFingerprinter open(String url, Properties props, String where) {
        props.setProperty("ApplicationName", "lifeboat-snapshot-fingerprints");
        Connection c;
        try {
            c = DriverManager.getConnection(url, props);
        } catch (SQLException e) {
            throw failedToBegin(where, e);
        }
        return begin(c, where);
    }

    /** Exports the snapshot pg_dump will dump in, from a REPEATABLE READ transaction begun on {@code c}. */
    private static BackupFingerprinter begin(Connection c, String where) {
        try {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("set transaction isolation level repeatable read, read only");
                String id;
                try (ResultSet rs = st.executeQuery("select pg_export_snapshot()")) {
                    rs.next();
                    id = rs.getString(1);
                }
                TableHashes.pinTextForms(c);
                return new BackupFingerprinter(c, id);
            }
        } catch (SQLException e) {
            closeQuietly(c);
            throw failedToBegin(where, e);
        }
    }

    private static BackupFailure failedToBegin(String where, SQLException e) {
        return new BackupFailure("DUMP", "cannot open a snapshot of " + where + " for the table fingerprints: "
                + e.getMessage() + " (set LIFEBOAT_TABLE_FINGERPRINTS=false to back up without them)");
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // the connection is unusable anyway
        }
    }

    /** What {@code pg_dump --snapshot} takes. */
    public String snapshotId() {
        return snapshotId;
    }

    /** Starts hashing every table on another thread. */
    public void start() {
        result = CompletableFuture.supplyAsync(this::hashAll, Thread.ofVirtual()::start);
    }

    private TableFingerprints hashAll() {
        List<TableFingerprints.Table> out = new ArrayList<>();
        try {
            for (String[] t : TableHashes.tables(connection)) {
                if (stopping) {
                    break;
                }
                try (Statement sp = connection.createStatement()) {
                    sp.execute("savepoint lifeboat_fingerprint");
                    out.add(TableHashes.fingerprint(connection, t[0], t[1]));
                    sp.execute("release savepoint lifeboat_fingerprint");
                } catch (SQLException e) {
                    LOG.warnf("table %s.%s left out of the fingerprints: %s", t[0], t[1], e.getMessage());
                    try (Statement sp = connection.createStatement()) {
                        sp.execute("rollback to savepoint lifeboat_fingerprint");
                    }
                }
            }
        } catch (SQLException e) {
            throw new BackupFailure("DUMP", "table fingerprints failed: " + e.getMessage());
        }
        return new TableFingerprints(TableHashes.METHOD, out);
    }

    /** The fingerprints, once every table is hashed; fails when hashing outlasts the backup's deadline. */
    public TableFingerprints await(Deadline deadline) {
        try {
            return result.get(Math.max(1, deadline.remaining().toMillis()), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new BackupFailure("DUMP", "the table fingerprints were not done at " + deadline.describe()
                    + "; nothing was uploaded. Raise maxDuration, or set LIFEBOAT_TABLE_FINGERPRINTS=false to back up "
                    + "without them");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupFailure("DUMP", "interrupted while fingerprinting tables");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof BackupFailure f) {
                throw f;
            }
            throw new BackupFailure("DUMP", "table fingerprints failed: " + e.getCause());
        }
    }

    /** Ends the transaction (and the exported snapshot); cancels hashing still running, e.g. after pg_dump failed. */
    @Override
    public void close() {
        if (result != null && !result.isDone()) {
            stopping = true;
            try {
                connection.unwrap(org.postgresql.PGConnection.class).cancelQuery();
            } catch (SQLException ignored) {
                // closing the connection below ends it as well
            }
        }
        if (result != null) {
            try {
                result.join();
            } catch (RuntimeException ignored) {
                // reported by await(), or not wanted any more
            }
        }
        try {
            connection.rollback();
            connection.close();
        } catch (SQLException e) {
            LOG.debugf("closing the fingerprint connection: %s", e.getMessage());
        }
    }
}
