package dev.lifeboat.snapshot.service;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;

import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.kit.pg.SslMode;
import dev.lifeboat.kit.secrets.SecretPolicy;
import dev.lifeboat.snapshot.domain.CommandFailure;

/** JDBC to the PostgreSQL servers recovery commands name: connecting, creating and dropping databases. */
final class TargetServers {
    /** Databases a DropDatabase never touches, whatever the command says. */
    private static final Set<String> PROTECTED = Set.of("postgres", "template0", "template1");
    /**
     * Database names the worker acts on: recovery-coordinator's rule for plan databases and checks (PlanValidator's
     * DB_NAME, the commands' schema). Nothing that could end the URL's path or start its parameters ({@code ?},
     * {@code &}, {@code /}, {@code %}) or make libpq read the name as a connection string ({@code =}, spaces).
     */
    static final Pattern DB_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_$-]{0,62}");
    /** Host names and addresses as recovery-coordinator's TargetService registers them. */
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"
            + "|\\[[0-9A-Fa-f:.]{2,45}]");

    private TargetServers() {
    }

    static String password(SecretPolicy secrets, DatabaseTarget target) {
        if (onSocket(target)) {
            // only the worker itself points a target at a restored cluster's socket; a command never may
            throw new CommandFailure("target host '" + target.host() + "' is a socket directory; a command names a "
                    + "server by host name or address");
        }
        try {
            return secrets.resolve("passwordRef", target.passwordRef());
        } catch (RuntimeException e) {
            throw new CommandFailure("password of target " + target.describe() + " unavailable: " + e.getMessage());
        }
    }

    /**
     * How long a read from a target may wait: lifeboat.snapshot.socket-timeout (the same limit as for sources), so
     * that a target server that stops answering fails the command instead of holding it.
     */
    static int socketTimeoutSeconds() {
        return (int) org.eclipse.microprofile.config.ConfigProvider.getConfig()
                .getOptionalValue("lifeboat.snapshot.socket-timeout", java.time.Duration.class)
                .orElse(java.time.Duration.ofMinutes(10)).toSeconds();
    }

    /**
     * A target whose host is a directory (as in libpq) is a restored cluster's private Unix-domain socket, reached
     * through junixsocket; such targets are made only by {@link ClusterRestorer#socketTarget}.
     */
    static boolean onSocket(DatabaseTarget target) {
        return target.host() != null && target.host().startsWith("/");
    }

    /**
     * The JDBC URL of a database on the target, with the socket properties when it is reached over a socket. The
     * driver lets the URL's parameters override the properties (the pinned search_path, the connection's user and
     * settings): the database and host are checked here, where the URL is built, whoever named them.
     */
    static String url(DatabaseTarget target, String database, Properties p) {
        if (database == null || !DB_NAME.matcher(database).matches()) {
            throw new CommandFailure("database name '" + database + "' is not a plain PostgreSQL name "
                    + DB_NAME.pattern() + "; no connection is made to it");
        }
        if (onSocket(target)) {
            p.setProperty("socketFactory", "org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg");
            p.setProperty("socketFactoryArg", target.host() + "/.s.PGSQL." + target.port());
            // peer authentication: the server asks no password
            p.remove("password");
            return "jdbc:postgresql://localhost:" + target.port() + "/" + database;
        }
        if (target.host() == null || !HOST.matcher(target.host()).matches() || target.port() < 1
                || target.port() > 65535) {
            throw new CommandFailure("target host '" + target.host() + "' port " + target.port() + " is not a host "
                    + "name or address and port; no connection is made to it");
        }
        // the registered server's TLS (RegisteredTargets), require when none is named
        p.setProperty("sslmode", SslMode.parse(target.sslmode()).value());
        if (target.sslRootCertRef() != null) {
            p.setProperty("sslrootcert", TargetCa.placed(target.sslRootCertRef()).toString());
        }
        return "jdbc:postgresql://" + target.host() + ":" + target.port() + "/" + database;
    }

    /** The registered server's TLS for libpq (pg_restore): PGSSLMODE, and PGSSLROOTCERT when it names a CA. */
    static void libpqTls(DatabaseTarget target, java.util.Map<String, String> env) {
        env.put("PGSSLMODE", SslMode.parse(target.sslmode()).value());
        if (target.sslRootCertRef() != null) {
            env.put("PGSSLROOTCERT", TargetCa.placed(target.sslRootCertRef()).toString());
        }
    }

    static Connection connect(DatabaseTarget target, String database, String password, int timeoutSeconds) {
        return connectAs(target, target.user(), database, password, timeoutSeconds);
    }

    /** As {@link #connect}, logging in as {@code user} (a restored database's own role) instead of the target user. */
    static Connection connectAs(DatabaseTarget target, String user, String database, String password,
                                int timeoutSeconds) {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", String.valueOf(timeoutSeconds));
        p.setProperty("socketTimeout", String.valueOf(socketTimeoutSeconds()));
        p.setProperty("tcpKeepAlive", "true");
        p.setProperty("ApplicationName", "lifeboat-recovery");
        // a SQL_ASCII database's table fingerprints are read as stored (CopyHashes): client_encoding changes there
        p.setProperty("allowEncodingChanges", "true");
        // the target's owner controls its schemas and settings: nothing of theirs is called by the worker's SQL; and
        // no row-level security policy of theirs runs with the target user's rights (a table it would apply to is an
        // error instead). A restored database's own role has no rights to lend: its policies apply to it as written
        boolean targetUser = user.equals(target.user());
        p.setProperty("options", SearchPath.PINNED + (targetUser ? " -c row_security=off" : ""));
        String url = url(target, database, p);
        try {
            return DriverManager.getConnection(url, p);
        } catch (SQLException e) {
            throw new CommandFailure("cannot connect to " + target.host() + ":" + target.port() + "/" + database
                    + " as " + user + ": " + e.getMessage(), e);
        }
    }

    /**
     * The role a restored database belongs to, and pg_restore runs as ({@code restore-owner=restore-role}): one per
     * database name on the server, so that dropping the database finds it again.
     */
    static String restoreOwner(String database) {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(("lifeboat-restore-owner:" + database).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return "lifeboat_owner_" + java.util.HexFormat.of().formatHex(digest).substring(0, 24);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Makes {@code role} anew (one left by an earlier attempt, or made by someone else under its name, is dropped
     * first, with whatever memberships and grants it had): a login without any right beyond its own objects
     * (NOSUPERUSER, NOCREATEDB, NOCREATEROLE, NOREPLICATION, NOBYPASSRLS, a member of nothing), with a fresh random
     * password, sent SCRAM-hashed; the connected user becomes its member, as CREATE DATABASE ... OWNER asks. Returns
     * the password. The connected user needs CREATEROLE.
     */
    static String prepareOwner(Connection maintenance, String role) throws SQLException {
        try (Statement st = maintenance.createStatement()) {
            if (roleExists(maintenance, role)) {
                // its database was dropped before this (a retry, a replacing restore): it owns nothing any more
                st.execute("drop role " + quote(role));
            }
            // INHERIT: it is a member of nothing, but as the database's owner it holds pg_database_owner's rights
            // (the public schema's CREATE) only through inheritance
            st.execute("create role " + quote(role)
                    + " nosuperuser nocreatedb nocreaterole inherit noreplication nobypassrls");
            String secret = freshPassword(maintenance, role);
            st.execute("alter role " + quote(role) + " login");
            st.execute("grant " + quote(role) + " to current_user");
            return secret;
        }
    }

    /**
     * Takes the login of a restored database's role once the restore is done (it only owns the database), and
     * every membership in it but the connected user's: before PostgreSQL 16 a role logged in as itself may grant
     * itself to others, which the dump's own code could have done while it loaded. Returns the members revoked.
     */
    static java.util.List<String> closeOwner(Connection maintenance, String role) throws SQLException {
        java.util.List<String> revoked = new java.util.ArrayList<>();
        try (Statement st = maintenance.createStatement()) {
            st.execute("alter role " + quote(role) + " nologin password null");
            try (PreparedStatement ps = maintenance.prepareStatement("select r.rolname from "
                    + "pg_catalog.pg_auth_members m join pg_catalog.pg_roles r on r.oid = m.member where m.roleid = "
                    + "(select oid from pg_catalog.pg_roles where rolname = ?) and r.rolname <> current_user")) {
                ps.setString(1, role);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        revoked.add(rs.getString(1));
                    }
                }
            }
            for (String member : revoked) {
                st.execute("revoke " + quote(role) + " from " + quote(member) + " cascade");
            }
        }
        return revoked;
    }

    /** Gives {@code role} a new random password, sent SCRAM-hashed (never in clear), and returns it. */
    static String freshPassword(Connection maintenance, String role) throws SQLException {
        byte[] random = new byte[32];
        new java.security.SecureRandom().nextBytes(random);
        String secret = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        maintenance.unwrap(org.postgresql.PGConnection.class).alterUserPassword(role, secret.toCharArray(),
                "scram-sha-256");
        return secret;
    }

    static boolean roleExists(Connection c, String role) throws SQLException {
        return anyRow(c, "select 1 from pg_catalog.pg_roles where rolname = ?", role);
    }

    /** Drops the role {@link #restoreOwner} names for {@code database}, when there is one (after the database). */
    static void dropOwner(Connection maintenance, String database) throws SQLException {
        String role = restoreOwner(database);
        // looked for first: DROP ROLE IF EXISTS asks for CREATEROLE even when there is nothing to drop
        if (!roleExists(maintenance, role)) {
            return;
        }
        try (Statement st = maintenance.createStatement()) {
            st.execute("drop role if exists " + quote(role));
        }
    }

    /** A database name the worker will create, replace, drop or verify: a plain name, never a system database. */
    static String validName(DatabaseTarget target) {
        String name = plainName(target);
        if (PROTECTED.contains(name)) {
            throw new CommandFailure("target database '" + name + "' is a system database; refusing to touch it");
        }
        return name;
    }

    /**
     * A plain database name ({@link #DB_NAME}, as the coordinator accepts them in plans and checks). Read-only checks
     * on a restored cluster may read any of its databases (postgres included); everything else uses
     * {@link #validName}.
     */
    static String plainName(DatabaseTarget target) {
        String name = target == null ? null : target.database();
        if (name == null || !DB_NAME.matcher(name).matches()) {
            throw new CommandFailure("target database name '" + name + "' is not a plain PostgreSQL name "
                    + DB_NAME.pattern());
        }
        return name;
    }

    static String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    static int serverMajor(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select pg_catalog.current_setting('server_version_num')::int")) {
            rs.next();
            return rs.getInt(1) / 10000;
        }
    }

    static boolean exists(Connection c, String database) throws SQLException {
        return anyRow(c, "select 1 from pg_database where datname = ?", database);
    }

    private static boolean anyRow(Connection c, String sql, String value) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, value);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Drops {@code database} if it exists, ending its sessions first; true when it existed. */
    static boolean drop(Connection c, String database) throws SQLException {
        if (!exists(c, database)) {
            return false;
        }
        try (Statement st = c.createStatement()) {
            if (serverMajor(c) >= 13) {
                st.execute("drop database if exists " + quote(database) + " with (force)");
            } else {
                // before PostgreSQL 13 there is no FORCE: end the sessions, then drop (a new session may race in)
                try (PreparedStatement ps = c.prepareStatement("select pg_catalog.pg_terminate_backend(pid) from "
                        + "pg_stat_activity where datname = ? and pid <> pg_catalog.pg_backend_pid()")) {
                    ps.setString(1, database);
                    ps.execute();
                }
                st.execute("drop database if exists " + quote(database));
            }
        }
        return true;
    }
}
