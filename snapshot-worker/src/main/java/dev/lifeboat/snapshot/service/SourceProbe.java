package dev.lifeboat.snapshot.service;

import dev.lifeboat.snapshot.domain.BackupFailure;
import org.postgresql.util.PSQLException;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

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
        String host = source.host();
        int port = source.port();
        String database = source.database();
        String user = source.user();
        String where = host + ":" + port + "/" + database;
        try (Connection c = DriverManager.getConnection(source.jdbcUrl(), source.jdbcProperties(timeoutSeconds,
                socketTimeoutSeconds));
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select current_setting('server_version_num')::int, "
                     + "current_setting('server_version'), pg_database_size(current_database())")) {
            rs.next();
            return new ServerFacts(rs.getInt(1), rs.getString(2), rs.getLong(3));
        } catch (PSQLException e) {
            String state = e.getSQLState() == null ? "" : e.getSQLState();
            if (state.startsWith("08") && isTls(e)) {
                throw new BackupFailure("CONNECT", "TLS to " + host + ":" + port + " failed with sslmode "
                        + source.sslmode() + " (" + rootMessage(e) + "); check that the server has TLS on and, for "
                        + "verify-ca/verify-full, that sslRootCertRef names the CA that signed its certificate");
            }
            if (state.startsWith("08")) {
                throw new BackupFailure("CONNECT", "source unreachable: cannot connect to PostgreSQL at " + host + ":"
                        + port + " (" + rootMessage(e) + "); check that the server is running and accepts TCP "
                        + "connections from this worker");
            }
            if (state.equals("28P01") || state.equals("28000")) {
                throw new BackupFailure("CONNECT", "authentication failed for user '" + user + "' on " + where
                        + ": check the password behind the source's passwordRef and pg_hba.conf");
            }
            if (state.equals("3D000")) {
                throw new BackupFailure("CONNECT", "database '" + database + "' does not exist on " + host + ":" + port);
            }
            throw new BackupFailure("CONNECT", "cannot read server facts of " + where + ": " + e.getMessage());
        } catch (SQLException e) {
            throw new BackupFailure("CONNECT", "cannot connect to " + where + ": " + e.getMessage());
        }
    }

    private static boolean isTls(PSQLException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
        return m.contains("ssl") || m.contains("certificate") || e.getCause() instanceof javax.net.ssl.SSLException;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
}
