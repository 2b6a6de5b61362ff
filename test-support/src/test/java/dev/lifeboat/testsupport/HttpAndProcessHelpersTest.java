package dev.lifeboat.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

class HttpAndProcessHelpersTest {

    @Test
    void jsonRoundTrips() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/echo", ex -> {
            byte[] in = ex.getRequestBody().readAllBytes();
            String out = "{\"method\":\"" + ex.getRequestMethod() + "\",\"type\":\""
                    + ex.getRequestHeaders().getFirst("Content-Type") + "\",\"body\":" + (in.length == 0 ? "null" : new String(in, StandardCharsets.UTF_8)) + "}";
            byte[] bytes = out.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("X-Test", "yes");
            ex.sendResponseHeaders(ex.getRequestMethod().equals("POST") ? 201 : 200, bytes.length);
            ex.getResponseBody().write(bytes);
            ex.close();
        });
        server.start();
        try {
            String base = "http://127.0.0.1:" + server.getAddress().getPort() + "/echo";
            Http.Response get = Http.get(base);
            assertThat(get.status()).isEqualTo(200);
            assertThat(get.body()).contains("\"method\":\"GET\"").contains("\"body\":null");
            assertThat(get.header("x-test")).isEqualTo("yes");
            Http.Response post = Http.post(base, "{\"a\":1}");
            assertThat(post.status()).isEqualTo(201);
            assertThat(post.ok()).isTrue();
            assertThat(post.body()).contains("\"type\":\"application/json\"").contains("\"body\":{\"a\":1}");
            assertThat(Http.put(base, "[1]", Map.of("X-Other", "1")).body()).contains("\"method\":\"PUT\"");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void freePortIsBindable() throws IOException {
        int port = ServiceProcess.freePort();
        assertThat(port).isBetween(1024, 65535);
        try (var s = new java.net.ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
            assertThat(s.getLocalPort()).isEqualTo(port);
        }
    }

    @Test
    void logTailReturnsLastLines(@TempDir Path dir) throws IOException {
        Path log = dir.resolve("x.log");
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i <= 100_000; i++) {
            sb.append("line ").append(i).append('\n');
        }
        Files.writeString(log, sb);
        assertThat(ServiceProcess.tail(log, 3)).isEqualTo(String.join(System.lineSeparator(), "line 99998", "line 99999", "line 100000"));
        Files.writeString(log, "only\n");
        assertThat(ServiceProcess.tail(log, 50)).isEqualTo("only");
        assertThat(ServiceProcess.tail(dir.resolve("missing.log"), 5)).isEmpty();
    }

    @Test
    void serviceThatDiesFailsAwaitReadyWithItsLog(@TempDir Path dir) throws Exception {
        // a jar whose main class does not exist: the JVM prints an error and exits 1
        Path jar = dir.resolve("broken.jar");
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar), manifest("does.not.Exist"))) {
            out.flush();
        }
        ServiceProcess sp = ServiceProcess.start("ts-broken-" + ProcessHandle.current().pid(), jar, Map.of(), Map.of());
        try {
            sp.awaitReady(java.time.Duration.ofSeconds(30));
            throw new AssertionError("awaitReady should fail");
        } catch (IllegalStateException expected) {
            assertThat(expected.getMessage()).contains("exited with code").contains("does.not.Exist");
        } finally {
            sp.stop();
        }
        assertThat(sp.logFile()).startsWith(Path.of(System.getProperty("user.dir"), "target", "e2e-logs"));
        // the build's JVM options for started services (test.jvm.options; none for -Dtest.jvm.options=) are on the
        // command line the log records, each as one argument
        String options = System.getProperty(ServiceProcess.JVM_OPTIONS, "").trim();
        String started = Files.readAllLines(sp.logFile()).stream().filter(l -> l.startsWith("==== "))
                .reduce((first, last) -> last).orElseThrow();
        assertThat(started).contains(" -Xmx256m " + (options.isEmpty() ? "" : String.join(" ", options.split("\\s+"))
                + " ") + "-Dquarkus.http.port=");
    }

    @Test
    void aServicesModuleIsTheDirectoryItsJarWasPackagedIn() {
        // what lifeboat.test.jvm-options.<module> is looked up by
        assertThat(ServiceProcess.module(Path.of("/work/lifeboat/catalog-service/target/quarkus-app/quarkus-run.jar")))
                .isEqualTo("catalog-service");
        assertThat(ServiceProcess.module(Path.of("/quarkus-run.jar"))).isEmpty();
    }

    private static java.util.jar.Manifest manifest(String mainClass) {
        var m = new java.util.jar.Manifest();
        m.getMainAttributes().put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(java.util.jar.Attributes.Name.MAIN_CLASS, mainClass);
        return m;
    }
}
