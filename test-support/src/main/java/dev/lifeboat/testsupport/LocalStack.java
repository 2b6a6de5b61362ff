package dev.lifeboat.testsupport;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real servers the tests run against: Kafka, PostgreSQL and an S3-compatible store (S3Proxy), all on 127.0.0.1.
 *
 * <p>{@link #ensureStarted()} uses servers that already listen on the configured ports (for instance started once
 * for a whole build by {@code .ci/run} or by hand with {@code deploy/local/stack.sh up}); for each one that does not,
 * it runs {@code deploy/local/stack.sh up <names>} and stops exactly those servers again when the JVM exits.
 *
 * <p>Testcontainers is not used: the machines this project builds on have no container engine.
 *
 * <p>Ports follow the same environment variables as {@code stack.sh}: {@code KAFKA_PORT} (9092), {@code PG_PORT}
 * (25432), {@code S3_PORT} (9000), {@code ZIPKIN_PORT} (9411).
 */
public final class LocalStack {

    private static final String STACK_SCRIPT = "deploy/local/stack.sh";
    private static final long START_TIMEOUT_MINUTES = 10;
    private static LocalStack instance;

    private final Path repoRoot;
    private final int kafkaPort;
    private final int pgPort;
    private final int s3Port;
    private final int zipkinPort;
    private final List<String> startedHere;

    private LocalStack(Path repoRoot, int kafkaPort, int pgPort, int s3Port, int zipkinPort, List<String> startedHere) {
        this.repoRoot = repoRoot;
        this.kafkaPort = kafkaPort;
        this.pgPort = pgPort;
        this.s3Port = s3Port;
        this.zipkinPort = zipkinPort;
        this.startedHere = List.copyOf(startedHere);
    }

    /**
     * Starts (once per JVM) whatever of Kafka, PostgreSQL, S3 and Zipkin is not already listening, and waits until
     * ready.
     */
    public static synchronized LocalStack ensureStarted() {
        if (instance != null) {
            return instance;
        }
        Path root = findRepoRoot();
        int kafka = envPort("KAFKA_PORT", 9092);
        int pg = envPort("PG_PORT", 25432);
        int s3 = envPort("S3_PORT", 9000);
        int zipkin = envPort("ZIPKIN_PORT", 9411);
        List<String> missing = new ArrayList<>();
        if (!portOpen(kafka)) missing.add("kafka");
        if (!portOpen(pg)) missing.add("postgres");
        if (!portOpen(s3)) missing.add("s3");
        if (!portOpen(zipkin)) missing.add("zipkin");
        if (!missing.isEmpty()) {
            List<String> up = new ArrayList<>(List.of("up"));
            up.addAll(missing);
            System.out.println("[LocalStack] starting " + missing + " with " + root.resolve(STACK_SCRIPT));
            int rc = runStack(root, up, START_TIMEOUT_MINUTES);
            if (rc != 0) {
                throw new IllegalStateException("deploy/local/stack.sh up " + missing + " failed with exit code " + rc);
            }
            List<String> down = new ArrayList<>(List.of("down"));
            down.addAll(missing);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> runStack(root, down, 2), "local-stack-down"));
        }
        instance = new LocalStack(root, kafka, pg, s3, zipkin, missing);
        return instance;
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public String kafkaBootstrap() { return "127.0.0.1:" + kafkaPort; }

    /**
     * Kafka principals of the platform: each service has its own, {@code publisher} is an outside system allowed to
     * write backup requests only, {@code admin} is the broker's super user (test set-up: topics, group offsets).
     */
    public static final String KAFKA_ADMIN = "admin";
    public static final String KAFKA_PUBLISHER = "publisher";

    /**
     * Client configuration (bootstrap servers plus the principal's credentials) for a plain Kafka client (producer,
     * consumer, admin) acting as {@code principal}: one of the services' names, {@link #KAFKA_PUBLISHER} or
     * {@link #KAFKA_ADMIN}. The broker takes SASL SCRAM-SHA-512 only; the password is the one {@code stack.sh}
     * generated into {@link #kafkaSecretsDir()}.
     */
    public Map<String, Object> kafkaClientConfig(String principal) {
        Map<String, Object> config = new java.util.HashMap<>();
        config.put("bootstrap.servers", kafkaBootstrap());
        config.put("security.protocol", "SASL_PLAINTEXT");
        config.put("sasl.mechanism", "SCRAM-SHA-512");
        config.put("sasl.jaas.config", scramJaasConfig(principal, kafkaPassword(principal)));
        return config;
    }

    /** {@code sasl.jaas.config} value for a SCRAM login (the password is quoted as JAAS requires). */
    public static String scramJaasConfig(String username, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + username.replace("\\", "\\\\").replace("\"", "\\\"") + "\" password=\""
                + password.replace("\\", "\\\\").replace("\"", "\\\"") + "\";";
    }

    /**
     * Where {@code stack.sh} keeps the Kafka users' passwords: {@code <LIFEBOAT_WORK>/secrets/kafka}, by default
     * {@code <repo>/.work/stack/secrets/kafka}.
     */
    public Path kafkaSecretsDir() {
        return workDir().resolve("secrets/kafka");
    }

    /** {@code stack.sh}'s work directory: {@code LIFEBOAT_WORK}, by default {@code <repo>/.work/stack}. */
    public Path workDir() {
        String work = System.getenv("LIFEBOAT_WORK");
        return work == null || work.isBlank() ? repoRoot.resolve(".work/stack") : Path.of(work.trim());
    }

    /** The password of a Kafka principal, as generated by {@code stack.sh} when it formatted the broker. */
    public String kafkaPassword(String principal) {
        if (!principal.matches("[a-z][a-z0-9-]*")) {
            throw new IllegalArgumentException("Kafka principal '" + principal + "': expected a name like storage-worker");
        }
        Path file = kafkaSecretsDir().resolve(principal + ".password");
        try {
            return Files.readString(file, StandardCharsets.UTF_8).trim();
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalStateException("no password for Kafka principal '" + principal + "' at " + file
                    + ": the broker on " + kafkaBootstrap() + " was not started by this checkout's deploy/local/stack.sh"
                    + " (or under another LIFEBOAT_WORK), or the principal is not in deploy/kafka/acls.conf", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /**
     * Environment for a service process acting as {@code principal} (KAFKA_BOOTSTRAP_SERVERS, KAFKA_USERNAME,
     * KAFKA_PASSWORD), the variables its application.properties reads.
     */
    public Map<String, String> kafkaServiceEnvironment(String principal) {
        return Map.of("KAFKA_BOOTSTRAP_SERVERS", kafkaBootstrap(), "KAFKA_USERNAME", principal,
                "KAFKA_PASSWORD", kafkaPassword(principal));
    }

    /** The same for a Quarkus service under test, as {@code kafka.*} properties (all its channels inherit them). */
    public Map<String, String> quarkusKafkaConfig(String principal) {
        Map<String, String> config = new java.util.HashMap<>();
        kafkaClientConfig(principal).forEach((k, v) -> config.put("kafka." + k, String.valueOf(v)));
        return config;
    }

    public String pgHost() { return "127.0.0.1"; }

    public int pgPort() { return pgPort; }

    public String pgSuperUser() { return "postgres"; }

    public String pgSuperPassword() { return "postgres"; }

    /** {@code jdbc:postgresql://127.0.0.1:<port>/<database>} */
    public String jdbcUrl(String database) { return "jdbc:postgresql://" + pgHost() + ":" + pgPort + "/" + database; }

    public String s3Endpoint() { return "http://127.0.0.1:" + s3Port; }

    /** Zipkin's base URL; spans go to {@code <url>/api/v2/spans}, traces are read from {@code <url>/api/v2/trace/<id>}. */
    public String zipkinUrl() { return "http://127.0.0.1:" + zipkinPort; }

    public String s3AccessKey() { return "local-access-key"; }

    public String s3SecretKey() { return "local-secret-key"; }

    public String s3Region() { return "us-east-1"; }

    /** The checkout's root directory (the one holding {@code deploy/local/stack.sh}). */
    public Path repoRoot() { return repoRoot; }

    /** Servers this JVM started and will stop at exit (empty when all were already running). */
    public List<String> startedHere() { return startedHere; }

    /** True if something accepts TCP connections on 127.0.0.1:port. */
    public static boolean portOpen(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Walks up from {@code user.dir} to the directory containing {@code deploy/local/stack.sh}. */
    public static Path findRepoRoot() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve(STACK_SCRIPT))) {
                return p;
            }
        }
        throw new IllegalStateException("no " + STACK_SCRIPT + " in " + dir + " or any parent directory");
    }

    private static int envPort(String name, int def) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? def : Integer.parseInt(v.trim());
    }

    /**
     * Stops one server of the stack ({@code postgres}, {@code s3} or {@code kafka}) to stage an outage, and waits
     * until its port is closed. Always call {@link #startServer} again in a {@code finally}.
     */
    public void stopServer(String server) {
        int rc = runStack(repoRoot, List.of("down", server), 2);
        if (rc != 0) {
            throw new IllegalStateException("deploy/local/stack.sh down " + server + " failed with exit code " + rc);
        }
        awaitPort(portOf(server), false);
    }

    /** Starts a server stopped by {@link #stopServer} again and waits until its port answers. */
    public void startServer(String server) {
        int rc = runStack(repoRoot, List.of("up", server), START_TIMEOUT_MINUTES);
        if (rc != 0) {
            throw new IllegalStateException("deploy/local/stack.sh up " + server + " failed with exit code " + rc);
        }
        awaitPort(portOf(server), true);
    }

    private int portOf(String server) {
        return switch (server) {
            case "postgres" -> pgPort;
            case "s3" -> s3Port;
            case "kafka" -> kafkaPort;
            case "zipkin" -> zipkinPort;
            default -> throw new IllegalArgumentException("unknown server " + server
                    + " (postgres, s3, kafka, zipkin)");
        };
    }

    private static void awaitPort(int port, boolean open) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (portOpen(port) != open) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("port " + port + " still " + (open ? "closed" : "open") + " after 60 s");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    private static int runStack(Path root, List<String> args, long timeoutMinutes) {
        List<String> cmd = new ArrayList<>();
        cmd.add("bash");
        cmd.add(root.resolve(STACK_SCRIPT).toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile()).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        if (!env.containsKey("JAVA_HOME")) {
            env.put("JAVA_HOME", System.getProperty("java.home"));
        }
        if (!env.containsKey("MVN")) {
            String mavenHome = System.getProperty("maven.home");
            if (mavenHome != null && Files.isExecutable(Path.of(mavenHome, "bin", "mvn"))) {
                env.put("MVN", Path.of(mavenHome, "bin", "mvn").toString());
            } else if (Files.isExecutable(root.resolve("mvnw"))) {
                env.put("MVN", root.resolve("mvnw").toString());
            }
        }
        try {
            Process p = pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            Thread pump = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        System.out.println("[stack.sh] " + line);
                    }
                } catch (IOException ignored) {
                    // process gone
                }
            }, "stack-sh-output");
            pump.setDaemon(true);
            pump.start();
            if (!p.waitFor(timeoutMinutes, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("stack.sh " + args + " did not finish within " + timeoutMinutes + " min");
            }
            pump.join(5_000);
            return p.exitValue();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
