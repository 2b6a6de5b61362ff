package dev.lifeboat.testsupport;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A packaged Quarkus service ({@code target/quarkus-app/quarkus-run.jar}) running as its own OS process, as in
 * production: {@code java -Xmx256m <options> -D<props> -jar quarkus-run.jar}, with the running JVM's java; the options
 * are the system property {@value #JVM_OPTIONS} (the build sets it from test.jvm.options). Its stdout and
 * stderr go to {@code target/e2e-logs/<name>.log} (appended, so a restarted service keeps its history).
 *
 * <p>If {@code quarkus.http.port} is not among the system properties a free port is chosen. Processes still alive
 * when the test JVM exits are killed.
 */
public final class ServiceProcess {

    /**
     * JVM options for every service started, separated by white space, no quoting (the build's test.jvm.options);
     * those of {@code lifeboat.test.jvm-options.<module>} follow them for the services of that module (the directory
     * the jar was packaged in), as ./lifeboat gives some services options of their own.
     */
    public static final String JVM_OPTIONS = "lifeboat.test.jvm-options";

    /** The module a packaged service's jar belongs to: {@code <module>/target/quarkus-app/quarkus-run.jar}. */
    static String module(Path quarkusRunJar) {
        Path moduleDir = quarkusRunJar.toAbsolutePath().normalize();
        for (int up = 0; up < 3 && moduleDir != null; up++) {
            moduleDir = moduleDir.getParent();
        }
        return moduleDir == null || moduleDir.getFileName() == null ? "" : moduleDir.getFileName().toString();
    }

    private static final Set<ServiceProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(s -> s.process.destroyForcibly()),
                "service-process-reaper"));
    }

    private final String name;
    private final Process process;
    private final Path log;
    private final int httpPort;

    private ServiceProcess(String name, Process process, Path log, int httpPort) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.httpPort = httpPort;
    }

    /**
     * Starts {@code quarkusRunJar} as {@code name}. System properties are passed as {@code -Dkey=value}; {@code env}
     * is added to this JVM's environment.
     */
    public static ServiceProcess start(String name, Path quarkusRunJar, Map<String, String> systemProperties,
                                       Map<String, String> env) {
        if (!Files.isRegularFile(quarkusRunJar)) {
            throw new IllegalArgumentException("no such jar: " + quarkusRunJar.toAbsolutePath()
                    + " (package the service first: mvn package)");
        }
        Map<String, String> props = new LinkedHashMap<>(systemProperties);
        props.computeIfAbsent("quarkus.http.port", k -> Integer.toString(freePort()));
        int port = Integer.parseInt(props.get("quarkus.http.port"));

        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx256m");
        for (String property : List.of(JVM_OPTIONS, JVM_OPTIONS + "." + module(quarkusRunJar))) {
            String options = System.getProperty(property, "").trim();
            if (!options.isEmpty()) {
                cmd.addAll(Arrays.asList(options.split("\\s+")));
            }
        }
        props.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("-jar");
        cmd.add(quarkusRunJar.toAbsolutePath().toString());

        try {
            Path logDir = Path.of(System.getProperty("user.dir"), "target", "e2e-logs");
            Files.createDirectories(logDir);
            Path log = logDir.resolve(name + ".log");
            Files.writeString(log, "==== " + Instant.now() + " starting " + name + " on port " + port + ": "
                    + String.join(" ", cmd) + System.lineSeparator(), StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().putAll(env);
            ServiceProcess sp = new ServiceProcess(name, pb.start(), log, port);
            LIVE.add(sp);
            return sp;
        } catch (IOException e) {
            throw new UncheckedIOException("could not start " + name, e);
        }
    }

    /** Polls {@code /q/health/ready} until it answers 200; fails with the log's last 50 lines if the process dies. */
    public ServiceProcess awaitReady(Duration timeout) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest ready = HttpRequest.newBuilder(URI.create(baseUrl() + "/q/health/ready"))
                .timeout(Duration.ofSeconds(2)).GET().build();
        long deadline = System.nanoTime() + timeout.toNanos();
        int lastStatus = -1;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited with code " + process.exitValue()
                        + " before it was ready; last log lines:\n" + logTail(50));
            }
            try {
                lastStatus = http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode();
                if (lastStatus == 200) {
                    return this;
                }
            } catch (IOException notYet) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            sleep(250);
        }
        throw new IllegalStateException(name + " not ready after " + timeout + " (last /q/health/ready status "
                + lastStatus + "); last log lines:\n" + logTail(50));
    }

    /** SIGTERM (graceful Quarkus shutdown), up to 20 s, then SIGKILL. */
    public void stop() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        LIVE.remove(this);
    }

    /** SIGKILL: the crash of a service, no shutdown hooks run. */
    public void kill9() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LIVE.remove(this);
    }

    /** Waits up to {@code timeout} for the process to end by itself (a crash); its exit status. */
    public int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException(name + " still runs after " + timeout + "; last log lines:\n"
                        + logTail(50));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        LIVE.remove(this);
        return process.exitValue();
    }

    public long pid() { return process.pid(); }

    public boolean isAlive() { return process.isAlive(); }

    public String name() { return name; }

    public int httpPort() { return httpPort; }

    /** {@code http://127.0.0.1:<quarkus.http.port>} */
    public String baseUrl() { return "http://127.0.0.1:" + httpPort; }

    public Path logFile() { return log; }

    /** The last {@code lines} lines of the service's log. */
    public String logTail(int lines) {
        return tail(log, lines);
    }

    /**
     * Where {@link #freePort()} looks: below Linux's ephemeral range (32768-60999) and above the stack's own ports,
     * in one of two windows of 2,300 ports chosen by the stack's PostgreSQL port (PG_PORT, which test lanes set 1000
     * apart), so that two lanes running at once do not pick the same port in the moment before its server binds it.
     */
    static final int PORTS_FROM;
    static final int PORTS_TO;

    static {
        int pg;
        try {
            pg = Integer.parseInt(System.getenv().getOrDefault("PG_PORT", "25432").trim());
        } catch (NumberFormatException e) {
            pg = 25432;
        }
        PORTS_FROM = 28100 + (pg / 1000 % 2) * 2300;
        PORTS_TO = PORTS_FROM + 2300;
    }

    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * A free TCP port on 127.0.0.1 (free when asked; another process may take it later), not one this JVM handed out
     * before. It lies below the kernel's ephemeral port range: a server the tests stop and start again on its port
     * (a service killed mid-run, a database) would otherwise find the port taken by some client's outgoing
     * connection, or by a connection retried to it that connected to itself. Falls back to any free port.
     */
    public static int freePort() {
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = random.nextInt(PORTS_FROM, PORTS_TO);
            if (HANDED_OUT.add(port) && bindable(port)) {
                return port;
            }
        }
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static String tail(Path file, int lines) {
        if (!Files.isRegularFile(file) || lines <= 0) {
            return "";
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long len = f.length();
            int chunk = (int) Math.min(len, 256 * 1024L);
            byte[] buf = new byte[chunk];
            f.seek(len - chunk);
            f.readFully(buf);
            String[] all = new String(buf, StandardCharsets.UTF_8).split("\\R", -1);
            int end = all.length;
            if (end > 0 && all[end - 1].isEmpty()) {
                end--;
            }
            int start = Math.max(0, end - lines);
            if (chunk < len && start == 0 && end > 0) {
                start = 1;   // first line of the chunk may be partial
            }
            return String.join(System.lineSeparator(), Arrays.asList(all).subList(start, end));
        } catch (IOException e) {
            return "(could not read " + file + ": " + e.getMessage() + ")";
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return name + "[pid " + process.pid() + ", " + baseUrl() + "]";
    }
}
