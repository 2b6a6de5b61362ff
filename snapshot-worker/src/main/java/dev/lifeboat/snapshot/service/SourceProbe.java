package dev.lifeboat.snapshot.service;

import dev.lifeboat.snapshot.domain.BackupFailure;
import dev.lifeboat.snapshot.domain.SourceReadiness.Refusal;
import dev.lifeboat.snapshot.domain.SourceReadiness.Unreachable;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;

/** Connects to a source before dumping it, so that unreachable servers and bad credentials get a clear reason. */
final class SourceProbe {
    private SourceProbe() {
    }

    record ServerFacts(int versionNum, String version, long databaseBytes) {
        int major() {
            return versionNum / 10000;
        }
    }

    static ServerFacts probe(SourceConnection source, int timeoutSeconds, int socketTimeoutSeconds) {
        try (Probed probed = connect(source, timeoutSeconds, socketTimeoutSeconds)) {
            return probed.facts();
        }
    }

    /** A connection to the source that answered, and what it said; whoever holds it closes it. */
    record Probed(Connection connection, ServerFacts facts) implements AutoCloseable {
        @Override
        public void close() {
            try {
                connection.close();
            } catch (SQLException e) {
                // nothing was written on it
            }
        }
    }

    /**
     * As {@link #probe}, keeping the connection open: a backup goes on with it (its table fingerprints) instead of
     * connecting again.
     */
    static Probed connect(SourceConnection source, int timeoutSeconds, int socketTimeoutSeconds) {
        Connection c = null;
        try {
            c = DriverManager.getConnection(source.jdbcUrl(), source.jdbcProperties(timeoutSeconds,
                    socketTimeoutSeconds));
            return new Probed(c, facts(c));
        } catch (SQLException e) {
            if (c != null) {
                new Probed(c, null).close();
            }
            throw new BackupFailure("CONNECT", diagnose(source, e).message());
        }
    }

    static ServerFacts facts(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select pg_catalog.current_setting('server_version_num')::int, "
                     + "pg_catalog.current_setting('server_version'), "
                     + "pg_catalog.pg_database_size(pg_catalog.current_database())")) {
            rs.next();
            return new ServerFacts(rs.getInt(1), rs.getString(2), rs.getLong(3));
        }
    }

    /** What a failed connection (or the first statement on it) says about the source. */
    static Unreachable diagnose(SourceConnection source, SQLException e) {
        String host = source.host();
        int port = source.port();
        String where = host + ":" + port + "/" + source.database();
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        Throwable root = root(e);
        if (state.startsWith("08") && isTls(e)) {
            return new Unreachable(Refusal.TLS, "TLS to " + host + ":" + port + " failed with sslmode "
                    + source.sslmode() + " (" + rootMessage(e) + "); check that the server has TLS on and, for "
                    + "verify-ca/verify-full, that sslRootCertRef names the CA that signed its certificate");
        }
        if (root instanceof UnknownHostException) {
            return new Unreachable(Refusal.DNS, "source unreachable: the host name '" + host + "' does not resolve "
                    + "(DNS) from this worker; check the source's host");
        }
        if (root instanceof SocketTimeoutException || state.equals("08001") && String.valueOf(e.getMessage())
                .toLowerCase(Locale.ROOT).contains("timed out")) {
            return new Unreachable(Refusal.TIMEOUT, "source unreachable: PostgreSQL at " + host + ":" + port
                    + " did not answer in time (" + rootMessage(e) + "); check firewalls and routes between this "
                    + "worker and the server");
        }
        if (root instanceof ConnectException || root instanceof NoRouteToHostException) {
            return new Unreachable(Refusal.REFUSED, "source unreachable: connection refused by " + host + ":" + port
                    + " (" + rootMessage(e) + "); check that the server is running, listens on that address and "
                    + "port (listen_addresses, port) and accepts TCP connections from this worker");
        }
        if (state.startsWith("08")) {
            return new Unreachable(Refusal.OTHER, "source unreachable: cannot connect to PostgreSQL at " + host + ":"
                    + port + " (" + rootMessage(e) + "); check that the server is running and accepts TCP "
                    + "connections from this worker");
        }
        if (state.equals("28P01") || state.equals("28000")) {
            return new Unreachable(Refusal.AUTHENTICATION_FAILED, "authentication failed for user '" + source.user()
                    + "' on " + where + ": check the password behind the source's passwordRef and pg_hba.conf"
                    + (state.equals("28000") ? " (the server said: " + e.getMessage() + ")" : ""));
        }
        if (state.equals("3D000")) {
            return new Unreachable(Refusal.NO_DATABASE, "database '" + source.database() + "' does not exist on "
                    + host + ":" + port);
        }
        return new Unreachable(Refusal.OTHER, "cannot read server facts of " + where + ": " + e.getMessage());
    }

    private static boolean isTls(SQLException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        return m.contains("ssl") || m.contains("certificate") || e.getCause() instanceof javax.net.ssl.SSLException;
    }

    private static Throwable root(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = root(e);
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
}
