package dev.lifeboat.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/** Databases on the local PostgreSQL, managed as the superuser. */
public final class Databases {

    private Databases() {
    }

    /** Drops {@code name} if it exists (WITH (FORCE): open sessions are terminated) and creates it, owned by postgres. */
    public static void createDatabase(String name) {
        dropDatabase(name);
        execute("postgres", "CREATE DATABASE " + quoteIdent(name) + " OWNER postgres");
    }

    /** Drops {@code name} if it exists, terminating its sessions. */
    public static void dropDatabase(String name) {
        execute("postgres", "DROP DATABASE IF EXISTS " + quoteIdent(name) + " WITH (FORCE)");
    }

    /**
     * Loads {@code deploy/local/sample-db.sql} (schema {@code shop}, about 1 MB per unit of scale, deterministic
     * content) into {@code database}: the {@code :scale} variable is replaced by the number and the whole script
     * runs over JDBC as one multi-statement string.
     */
    public static void loadSample(String database, int scale) {
        if (scale < 1) {
            throw new IllegalArgumentException("scale must be >= 1: " + scale);
        }
        execute(database, sampleSql(scale));
    }

    /** The sample script with its scale variable substituted. */
    public static String sampleSql(int scale) {
        return sampleScript().replace(":scale", Integer.toString(scale));
    }

    /** Runs {@code sql} (one or several statements) in {@code database} as the superuser, autocommit. */
    public static void execute(String database, String sql) {
        try (Connection c = connect(database); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("SQL failed in database " + database + ": " + e.getMessage(), e);
        }
    }

    /** A new superuser connection to {@code database}; the caller closes it. */
    public static Connection connect(String database) throws SQLException {
        LocalStack stack = LocalStack.ensureStarted();
        return DriverManager.getConnection(stack.jdbcUrl(database), stack.pgSuperUser(), stack.pgSuperPassword());
    }

    static String quoteIdent(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    private static String sampleScript() {
        try {
            Path file = LocalStack.findRepoRoot().resolve("deploy/local/sample-db.sql");
            if (Files.isRegularFile(file)) {
                return Files.readString(file, StandardCharsets.UTF_8);
            }
        } catch (IllegalStateException | IOException notInCheckout) {
            // fall back to the copy packaged in this jar
        }
        try (InputStream in = Databases.class.getResourceAsStream("sample-db.sql")) {
            if (in == null) {
                throw new IllegalStateException("sample-db.sql found neither in the checkout nor on the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
