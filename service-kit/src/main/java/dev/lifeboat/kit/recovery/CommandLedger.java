package dev.lifeboat.kit.recovery;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.sql.DataSource;

import org.jboss.logging.Logger;

/**
 * The idempotency ledger of a recovery participant: one row per saga command id ({@code <runId>:<step>:<action>})
 * with its status and, once finished, the reply as sent. A command seen again after it finished gets the stored
 * reply back without acting again. While an instance works on a command it holds a PostgreSQL advisory lock on the
 * command id in its own session, so a copy delivered to another instance (rebalance, a coordinator re-send) is not
 * started twice; an instance that dies releases the lock with its session and the next delivery takes over (the
 * row stays RUNNING, with what the dead attempt created in {@code created_resource}).
 *
 * <p>Each service owns its table ({@code snapshot.recovery_command}, {@code storage.recovery_command}); both have
 * the same columns, created by the service's own Flyway migration.
 */
public final class CommandLedger {
    private static final Logger LOG = Logger.getLogger(CommandLedger.class);
    private static final Pattern TABLE = Pattern.compile("^[a-z_]+\\.[a-z_]+$");
    // a namespace of its own in the advisory lock key space, apart from other locks taken on text hashes
    private static final long LOCK_SEED = 0x5a6a_0001L;
    /** How long a finished command waits for the database to record its reply when its own session has ended. */
    static final java.time.Duration FINISH_PATIENCE = java.time.Duration.ofMinutes(2);

    private final DataSource dataSource;
    private final String table;

    public CommandLedger(DataSource dataSource, String table) {
        if (!TABLE.matcher(table).matches()) {
            throw new IllegalArgumentException("not a schema-qualified table name: " + table);
        }
        this.dataSource = dataSource;
        this.table = table;
    }

    /** What the ledger says about a delivered command. */
    public sealed interface Entry permits Finished, Busy, Claim {
    }

    /** The command finished before: {@code replyJson} is the reply that was sent. */
    public record Finished(String replyJson) implements Entry {
    }

    /** Another live instance works on the command right now; it will reply. */
    public record Busy() implements Entry {
    }

    /**
     * Decides what to do with a delivered command and, when it is to be run here, claims it.
     *
     * @throws LedgerUnavailableException when the database does not answer (transient: retry the delivery)
     */
    public Entry claim(String commandId, String runId, String command, String workerId) {
        Connection c = null;
        try {
            c = dataSource.getConnection();
            c.setAutoCommit(true);
            if (!tryLock(c, commandId)) {
                closeQuietly(c);
                return new Busy();
            }
            try (PreparedStatement ps = c.prepareStatement("select status, reply::text from " + table
                    + " where command_id = ?")) {
                ps.setString(1, commandId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && "FINISHED".equals(rs.getString(1))) {
                        String reply = rs.getString(2);
                        unlockAndClose(c, commandId);
                        return new Finished(reply);
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("insert into " + table
                    + " (command_id, run_id, command, status, worker_id, attempts, started_at)"
                    + " values (?, ?, ?, 'RUNNING', ?, 1, now())"
                    + " on conflict (command_id) do update set worker_id = excluded.worker_id,"
                    + " attempts = " + table.substring(table.indexOf('.') + 1) + ".attempts + 1, started_at = now()"
                    + " returning attempts, created_resource")) {
                ps.setString(1, commandId);
                ps.setString(2, runId);
                ps.setString(3, command);
                ps.setString(4, workerId);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return new Claim(c, commandId, rs.getInt(1), Optional.ofNullable(rs.getString(2)));
                }
            }
        } catch (SQLException e) {
            if (c != null) {
                unlockAndClose(c, commandId);
            }
            throw new LedgerUnavailableException("recovery command ledger " + table + " unavailable: "
                    + e.getMessage(), e);
        }
    }

    private static boolean tryLock(Connection c, String commandId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select pg_try_advisory_lock(hashtextextended(?, ?))")) {
            ps.setString(1, commandId);
            ps.setLong(2, LOCK_SEED);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private static void unlockAndClose(Connection c, String commandId) {
        try (PreparedStatement ps = c.prepareStatement("select pg_advisory_unlock(hashtextextended(?, ?))")) {
            ps.setString(1, commandId);
            ps.setLong(2, LOCK_SEED);
            ps.execute();
        } catch (SQLException e) {
            LOG.warnf("could not release the lock of command %s (released when the session ends): %s", commandId,
                    e.getMessage());
        } finally {
            closeQuietly(c);
        }
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // the pool discards a broken connection
        }
    }

    /** A command this instance runs now: its RUNNING row and its advisory lock, released by {@link #close()}. */
    public final class Claim implements Entry, AutoCloseable {
        private final Connection connection;
        private final String commandId;
        private final int attempt;
        private Optional<String> createdResource;

        Claim(Connection connection, String commandId, int attempt, Optional<String> createdResource) {
            this.connection = connection;
            this.commandId = commandId;
            this.attempt = attempt;
            this.createdResource = createdResource;
        }

        /** 1 on the first delivery that ran; more when an earlier attempt died or gave up unfinished. */
        public int attempt() {
            return attempt;
        }

        /** What an earlier attempt of this command recorded it created (a database name), if anything. */
        public Optional<String> createdResource() {
            return createdResource;
        }

        /** Records, before acting on it, that this command creates {@code resource}: its proof of ownership. */
        public void created(String resource) {
            update("update " + table + " set created_resource = ? where command_id = ?", resource);
            createdResource = Optional.of(resource);
        }

        /**
         * Stores the reply; from now on a delivery of the command re-sends it. When the claim's own session has ended
         * meanwhile (the database restarted, or dropped the connection, while the command ran for an hour), the reply
         * is recorded over a new connection, waiting up to {@link #FINISH_PATIENCE} for the database to come back:
         * the work is done, and a delivery retried for want of the record would do it all again. The session's
         * advisory lock went with it: when another attempt has claimed the command meanwhile, nothing is recorded and
         * false returned (that attempt answers for the command now).
         */
        public boolean finish(String replyJson) {
            String sql = "update " + table + " set status = 'FINISHED', reply = ?::jsonb, finished_at = now()"
                    + " where command_id = ?";
            try {
                update(sql, replyJson);
                return true;
            } catch (LedgerUnavailableException e) {
                LOG.warnf("command %s: its ledger session ended while it ran (%s); recording its reply over a new "
                        + "connection", commandId, e.getMessage());
            }
            long until = System.nanoTime() + FINISH_PATIENCE.toNanos();
            long pause = 200;
            while (true) {
                try (Connection fresh = dataSource.getConnection();
                     PreparedStatement ps = fresh.prepareStatement(sql + " and attempts = ? and status = 'RUNNING'")) {
                    fresh.setAutoCommit(true);
                    ps.setString(1, replyJson);
                    ps.setString(2, commandId);
                    ps.setInt(3, attempt);
                    if (ps.executeUpdate() == 1) {
                        return true;
                    }
                    LOG.warnf("command %s: another attempt claimed it while this one's session was gone; this "
                            + "attempt's reply is not recorded", commandId);
                    return false;
                } catch (SQLException e) {
                    if (System.nanoTime() - until > 0) {
                        throw new LedgerUnavailableException("recovery command ledger " + table + " unavailable for "
                                + FINISH_PATIENCE + " after command " + commandId + " finished: " + e.getMessage(), e);
                    }
                }
                try {
                    Thread.sleep(pause);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new LedgerUnavailableException("interrupted recording the reply of command " + commandId, e);
                }
                pause = Math.min(pause * 2, 5_000);
            }
        }

        private void update(String sql, String value) {
            try (PreparedStatement ps = connection.prepareStatement(sql)) {
                ps.setString(1, value);
                ps.setString(2, commandId);
                ps.executeUpdate();
            } catch (SQLException e) {
                throw new LedgerUnavailableException("recovery command ledger " + table + " unavailable: "
                        + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            unlockAndClose(connection, commandId);
        }
    }

    /** The ledger's database failed: nothing was decided, the delivery is to be retried. */
    public static final class LedgerUnavailableException extends RuntimeException {
        public LedgerUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
