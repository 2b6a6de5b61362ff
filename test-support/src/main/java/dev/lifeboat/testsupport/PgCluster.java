package dev.lifeboat.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A PostgreSQL cluster of its own, apart from the platform's: the physical source of the point-in-time tests, which
 * may be killed, restarted and written to hard without touching the platform database. WAL level replica, a
 * replication role {@code replicator}/{@code replicator} and a superuser {@code postgres}/{@code postgres}, listening
 * on 127.0.0.1 only. Run as the {@code postgres} OS user when the tests run as root (PostgreSQL refuses root).
 */
public final class PgCluster {
    public static final String SUPERUSER = "postgres";
    public static final String SUPERUSER_PASSWORD = "postgres";
    public static final String REPLICATION_USER = "replicator";
    public static final String REPLICATION_PASSWORD = "replicator";

    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    private final Path home;
    private final int port;
    private final List<String> initdbOptions;

    private PgCluster(Path home, int port, List<String> initdbOptions) {
        this.home = home;
        this.port = port;
        this.initdbOptions = initdbOptions;
    }

    /**
     * The cluster under {@code dir} (its data directory {@code dir/data}), initialized on first use; not started.
     * When the tests run as root and the postgres OS user cannot write {@code dir}, the cluster lives under
     * /var/tmp instead, at a path derived from {@code dir}.
     */
    /**
     * A streaming standby of {@code primary} under {@code dir} (data directory {@code dir/data}) on {@code port},
     * made fresh by {@code pg_basebackup -R} over the primary's replication role: it follows the primary until
     * {@link #promote()}. Settings the primary set with ALTER SYSTEM come along. Not started.
     */
    public static PgCluster standbyOf(PgCluster primary, Path dir, int port) {
        PgCluster standby = new PgCluster(reachableHome(dir.toAbsolutePath()), port, List.of());
        deleteRecursively(standby.dataDir());
        run(List.of(binDir().resolve("pg_basebackup").toString(), "-D", standby.dataDir().toString(), "-d",
                "host=127.0.0.1 port=" + primary.port + " user=" + REPLICATION_USER + " password="
                        + REPLICATION_PASSWORD, "-R", "-X", "stream", "-c", "fast"), 120);
        return standby;
    }

    /** Promotes a standby to a primary on a new timeline and waits until it accepts writes. */
    public void promote() {
        run(List.of(binDir().resolve("pg_ctl").toString(), "-D", dataDir().toString(), "-w", "-t", "60", "promote"),
                90);
    }

    public static PgCluster at(Path dir, int port) {
        return at(dir, port, List.of());
    }

    /** As {@link #at(Path, int)}, initialized with {@code initdbOptions} besides the usual ones. */
    public static PgCluster at(Path dir, int port, List<String> initdbOptions) {
        Path home = reachableHome(dir.toAbsolutePath());
        PgCluster cluster = new PgCluster(home, port, List.copyOf(initdbOptions));
        if (!Files.isRegularFile(cluster.dataDir().resolve("PG_VERSION"))) {
            cluster.init();
        }
        return cluster;
    }

    /** Debian's newest PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup, pg_receivewal ...). */
    public static Path binDir() {
        try (var dirs = Files.list(Path.of("/usr/lib/postgresql"))) {
            return dirs.map(d -> d.resolve("bin")).filter(Files::isDirectory)
                    .max((a, b) -> Integer.compare(major(a), major(b)))
                    .orElseThrow(() -> new IllegalStateException("no PostgreSQL server under /usr/lib/postgresql"));
        } catch (IOException e) {
            throw new UncheckedIOException("PostgreSQL server binaries missing (apt-get install postgresql)", e);
        }
    }

    public Path home() {
        return home;
    }

    public Path dataDir() {
        return home.resolve("data");
    }

    public int port() {
        return port;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** Starts the cluster and waits until it accepts connections; a no-op when it runs. */
    public PgCluster start() {
        if (isRunning()) {
            return this;
        }
        run(List.of(binDir().resolve("pg_ctl").toString(), "-D", dataDir().toString(), "-l",
                home.resolve("postgres.log").toString(), "-o", "-p " + port, "-w", "-t", "60", "start"), 90);
        return this;
    }

    /** A clean shutdown (fast mode). */
    public void stop() {
        if (isRunning()) {
            run(List.of(binDir().resolve("pg_ctl").toString(), "-D", dataDir().toString(), "-m", "fast", "-w",
                    "-t", "60", "stop"), 90);
        }
    }

    /** kill -9 of the postmaster, as a crashed host would leave it; its backends go with it. */
    public void kill9() {
        Optional<Long> pid = postmasterPid();
        if (pid.isEmpty()) {
            return;
        }
        ProcessHandle.of(pid.get()).ifPresent(p -> {
            List<ProcessHandle> children = p.descendants().toList();
            p.destroyForcibly();
            children.forEach(ProcessHandle::destroyForcibly);
            try {
                p.onExit().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("postmaster " + pid.get() + " did not die", e);
            }
        });
    }

    public boolean isRunning() {
        return postmasterPid().flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
    }

    public Optional<Long> postmasterPid() {
        Path pidFile = dataDir().resolve("postmaster.pid");
        try {
            if (!Files.isRegularFile(pidFile)) {
                return Optional.empty();
            }
            return Optional.of(Long.parseLong(Files.readAllLines(pidFile).getFirst().trim()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Stops the cluster and removes its files. */
    public void destroy() {
        stop();
        deleteRecursively(home);
    }

    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), SUPERUSER, SUPERUSER_PASSWORD);
    }

    /** Runs {@code sql} in {@code database} as the superuser, autocommit. */
    public void execute(String database, String sql) {
        try (Connection c = connect(database); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("SQL failed in database " + database + " on port " + port + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Runs a PostgreSQL tool (as the postgres OS user when root) and returns its standard output; fails with its
     * output when it exits non-zero or outlives {@code timeoutSeconds}.
     */
    public static String run(List<String> command, long timeoutSeconds) {
        List<String> full = new ArrayList<>();
        if (ROOT) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(command);
        try {
            Path out = Files.createTempFile("pgcluster", ".out");
            try {
                Process p = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(out.toFile()).start();
                if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IllegalStateException(String.join(" ", command) + " did not finish within "
                            + timeoutSeconds + " s: " + Files.readString(out));
                }
                String output = Files.readString(out);
                if (p.exitValue() != 0) {
                    throw new IllegalStateException(String.join(" ", command) + " exited " + p.exitValue() + ": "
                            + output);
                }
                return output;
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + command.getFirst(), e);
        }
    }

    private void init() {
        try {
            Files.createDirectories(home);
            Path pw = home.resolve(".pw");
            Files.writeString(pw, SUPERUSER_PASSWORD);
            chownToPostgres(home);
            List<String> initdb = new java.util.ArrayList<>(List.of(binDir().resolve("initdb").toString(), "-D",
                    dataDir().toString(), "-U", SUPERUSER, "--pwfile=" + pw, "-E", "UTF8", "--locale=C.UTF-8",
                    "--auth-local=trust", "--auth-host=scram-sha-256"));
            initdb.addAll(initdbOptions);
            run(initdb, 120);
            Path socketDir = home.toString().length() > 80 ? Path.of("/tmp") : home;
            Files.writeString(dataDir().resolve("postgresql.conf"), """

                    listen_addresses = '127.0.0.1'
                    unix_socket_directories = '%s'
                    wal_level = replica
                    max_wal_senders = 10
                    max_replication_slots = 10
                    max_connections = 60
                    shared_buffers = 64MB
                    """.formatted(socketDir), StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
            Files.writeString(dataDir().resolve("pg_hba.conf"), """
                    local   all          all                     trust
                    host    replication  %s  127.0.0.1/32  scram-sha-256
                    host    all          all                     127.0.0.1/32  scram-sha-256
                    """.formatted(REPLICATION_USER));
            chownToPostgres(dataDir());
            start();
            execute("postgres", "CREATE ROLE " + REPLICATION_USER + " LOGIN REPLICATION PASSWORD '"
                    + REPLICATION_PASSWORD + "'");
            // reads every table for content hashes and the backup's size; pg_read_all_data exists since 14
            execute("postgres", "GRANT pg_read_all_data, pg_monitor TO " + REPLICATION_USER);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot initialize a PostgreSQL cluster under " + home, e);
        }
    }

    private static Path reachableHome(Path dir) {
        if (!ROOT) {
            return dir;
        }
        try {
            Files.createDirectories(dir);
            chownToPostgres(dir);
            Process p = new ProcessBuilder("runuser", "-u", "postgres", "--", "test", "-w", dir.toString()).start();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return dir;
            }
            String hash = HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(dir.toString().getBytes(StandardCharsets.UTF_8))).substring(0, 10);
            Path elsewhere = Path.of("/var/tmp", "lifeboat-pgc-" + hash);
            Files.createDirectories(elsewhere);
            chownToPostgres(elsewhere);
            return elsewhere;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void chownToPostgres(Path path) {
        if (!ROOT) {
            return;
        }
        try {
            Process p = new ProcessBuilder("chown", "-R", "postgres:postgres", path.toString()).start();
            p.waitFor(60, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static int major(Path bin) {
        try {
            return Integer.parseInt(bin.getParent().getFileName().toString());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
