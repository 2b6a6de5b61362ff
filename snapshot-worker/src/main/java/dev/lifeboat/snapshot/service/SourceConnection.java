package dev.lifeboat.snapshot.service;

import dev.lifeboat.kit.pg.SslMode;
import dev.lifeboat.kit.secrets.SecretPolicy;
import dev.lifeboat.snapshot.client.SchedulerClient;
import dev.lifeboat.snapshot.domain.BackupFailure;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Properties;

/**
 * How this worker connects to one source: the password and the CA certificate resolved under the secret policy on
 * this machine (again, whatever scheduler-service accepted), and the same sslmode for every connection, the JDBC
 * probe and pg_dump alike. The CA is copied into the backup's private spool, so that the file the clients open is
 * the one that was checked.
 */
public record SourceConnection(String host, int port, String database, String user, String password, SslMode sslmode,
                        Path rootCert) {

    @Override
    public String toString() {
        return "SourceConnection[" + host + ":" + port + "/" + database + " as " + user + ", sslmode " + sslmode + "]";
    }

    /** Fails with stage CONNECT and a reason naming the reference and the rule when the source cannot be used. */
    public static SourceConnection resolve(SchedulerClient.SourceInfo source, SecretPolicy policy, Path spool) {
        SslMode mode;
        try {
            mode = SslMode.parse(source.sslmode());
        } catch (IllegalArgumentException e) {
            throw new BackupFailure("CONNECT", "source '" + source.id() + "': " + e.getMessage());
        }
        if (mode.verifiesServer() && source.sslRootCertRef() == null) {
            throw new BackupFailure("CONNECT", "source '" + source.id() + "' has sslmode " + mode
                    + " but no sslRootCertRef to check the server's certificate against");
        }
        String password;
        byte[] ca = null;
        try {
            password = policy.resolve("passwordRef", source.passwordRef());
            if (source.sslRootCertRef() != null) {
                ca = policy.readFile("sslRootCertRef", source.sslRootCertRef(), SecretPolicy.MAX_CERTIFICATE_BYTES);
            }
        } catch (SecretPolicy.Refused e) {
            throw new BackupFailure("CONNECT", "source '" + source.id() + "' cannot be connected to: "
                    + e.getMessage());
        }
        Path rootCert = null;
        if (ca != null) {
            rootCert = spool.resolve("root.crt");
            try {
                Files.createDirectories(spool);
                Files.deleteIfExists(rootCert);
                Files.createFile(rootCert, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                Files.write(rootCert, ca);
            } catch (IOException e) {
                throw new BackupFailure("CONNECT", "cannot place the CA certificate of source '" + source.id()
                        + "' in spool " + spool + ": " + e.getMessage());
            }
        }
        return new SourceConnection(source.host(), source.port(), source.database(), source.username(), password,
                mode, rootCert);
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    /**
     * {@code socketTimeoutSeconds}: how long a read may wait for the server (0: no limit), so a server that stops
     * answering fails the call instead of holding it for ever; longer than any statement the connection runs. The
     * search_path is pinned ({@link SearchPath}); a caller that sets {@code options} of its own keeps it.
     */
    public Properties jdbcProperties(int timeoutSeconds, int socketTimeoutSeconds) {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("sslmode", sslmode.value());
        if (rootCert != null) {
            props.setProperty("sslrootcert", rootCert.toString());
        }
        props.setProperty("connectTimeout", String.valueOf(timeoutSeconds));
        props.setProperty("loginTimeout", String.valueOf(timeoutSeconds));
        props.setProperty("socketTimeout", String.valueOf(Math.max(0, socketTimeoutSeconds)));
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("ApplicationName", "lifeboat-snapshot");
        // the source's owner controls its schemas and settings: nothing of theirs is called by the worker's SQL
        props.setProperty("options", SearchPath.PINNED);
        return props;
    }

    /**
     * Leaves only what a PostgreSQL client program needs to run (path, home, locale, time zone, temp dir) of a child
     * process's inherited environment: the worker's own holds the platform's secrets.
     */
    static void withoutPlatformEnvironment(Map<String, String> env) {
        Map<String, String> inherited = Map.copyOf(env);
        env.clear();
        for (String keep : new String[]{"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"}) {
            if (inherited.containsKey(keep)) {
                env.put(keep, inherited.get(keep));
            }
        }
    }

    /**
     * The environment of a libpq client (pg_dump) for this source, and nothing of the worker's own: the worker's
     * environment holds the platform's secrets (master key, database password, object-store keys), which a child
     * process that talks to a source's server has no business holding.
     */
    void libpqEnvironment(Map<String, String> env, int timeoutSeconds, String applicationName) {
        withoutPlatformEnvironment(env);
        env.put("PGPASSWORD", password);
        env.put("PGSSLMODE", sslmode.value());
        if (rootCert != null) {
            env.put("PGSSLROOTCERT", rootCert.toString());
        }
        env.put("PGCONNECT_TIMEOUT", String.valueOf(timeoutSeconds));
        env.put("PGAPPNAME", applicationName);
    }

    /**
     * The libpq connection string of the database, with TCP keepalives: libpq has no environment variables for
     * them, and without them a connection to a server that vanished from the network waits for hours.
     */
    String libpqDatabase(java.time.Duration keepaliveIdle) {
        return libpqDatabase(database, keepaliveIdle);
    }

    static String libpqDatabase(String database, java.time.Duration keepaliveIdle) {
        long idle = Math.max(1, keepaliveIdle.toSeconds());
        return "dbname='" + database.replace("\\", "\\\\").replace("'", "\\'") + "' keepalives=1 keepalives_idle="
                + idle + " keepalives_interval=" + Math.max(1, idle / 3) + " keepalives_count=3";
    }

    /** The server's WAL segment size in bytes ({@code pg_settings} gives it in bytes, or in 8 kB or MB before 11). */
    public static long walSegmentSize(java.sql.Connection sql) throws java.sql.SQLException {
        try (java.sql.Statement st = sql.createStatement();
             java.sql.ResultSet rs = st.executeQuery("select setting::bigint, unit from pg_catalog.pg_settings where "
                     + "name = 'wal_segment_size'")) {
            rs.next();
            long value = rs.getLong(1);
            String unit = rs.getString(2);
            return "8kB".equals(unit) ? value * 8192 : "MB".equals(unit) ? value * 1024 * 1024 : value;
        }
    }
}
