package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class CliFormattingTest {

    @Test
    void onlyTheNamedCommandIsBuiltAndEverythingUnclearBuildsAll() {
        assertThat(Lifeboat.named(new String[]{"backup", "ls"})).isEqualTo("backup");
        assertThat(Lifeboat.named(new String[]{"-o", "json", "--no-color", "status"})).isEqualTo("status");
        assertThat(Lifeboat.named(new String[]{"--output=yaml", "-ojson", "source", "check", "x"})).isEqualTo("source");
        // a value that looks like a command is the option's value, not the command
        assertThat(Lifeboat.named(new String[]{"--token-file", "source", "backup", "ls"})).isEqualTo("backup");
        assertThat(Lifeboat.named(new String[]{"--help"})).isNull();
        assertThat(Lifeboat.named(new String[]{"completion"})).isNull();
        assertThat(Lifeboat.named(new String[]{"no-such-command"})).isNull();
        assertThat(Lifeboat.named(new String[]{})).isNull();

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int help = Lifeboat.execute(new String[]{"--help"}, Map.of(), new PrintWriter(out), new PrintWriter(err));
        assertThat(help).isZero();
        assertThat(out.toString()).contains("login", "source", "policy", "backup", "restore", "plan", "drill", "run",
                "status", "dlq", "completion");
        for (String[] args : new String[][]{{"source", "--help"}, {"backup", "ls", "-h"}, {"restore", "--help"}}) {
            StringWriter usage = new StringWriter();
            assertThat(Lifeboat.execute(args, Map.of(), new PrintWriter(usage), new PrintWriter(new StringWriter())))
                    .as("every command has --help: %s", String.join(" ", args)).isZero();
            assertThat(usage.toString()).contains("Usage: lifeboat " + args[0]).contains("Exit codes:");
        }
        StringWriter checkUsage = new StringWriter();
        assertThat(Lifeboat.execute(new String[]{"source", "check"}, Map.of(), new PrintWriter(new StringWriter()),
                new PrintWriter(checkUsage))).isEqualTo(ExitCodes.USAGE);
        assertThat(checkUsage.toString()).contains("Missing required parameter: 'ID'").contains("--connection-only");
        assertThat(Lifeboat.execute(new String[]{"no-such-command"}, Map.of(), new PrintWriter(new StringWriter()),
                new PrintWriter(new StringWriter()))).isEqualTo(ExitCodes.USAGE);
    }

    @Test
    void progressLineShowsPhaseBytesPercentRateAndEta() {
        String line = BackupWatch.progressLine("RUNNING", "dump", 12L * 1024 * 1024, 48L * 1024 * 1024, 25.0,
                4.0 * 1024 * 1024, 9L);
        assertThat(line).isEqualTo("RUNNING dump  12.0 MiB / 48.0 MiB   25%  [#####---------------]  4.0 MiB/s  ETA 9s");
        assertThat(BackupWatch.progressLine("REQUESTED", null, null, null, null, null, null)).isEqualTo("REQUESTED");
    }

    @Test
    void controlCharactersFromServersAreShownNotObeyedButOurColoursStay() {
        assertThat(Output.printable("ledger\033]52;c;cm0gLXJmIH4=\007.entries\rfake"))
                .isEqualTo("ledger?]52;c;cm0gLXJmIH4=?.entries?fake");
        assertThat(Output.printable("\033[32mCOMPLETED\033[0m")).isEqualTo("\033[32mCOMPLETED\033[0m");
        assertThat(Output.printable("plain name")).isEqualTo("plain name");
    }

    @Test
    void sizesAndAgesReadAsPeopleWriteThem() {
        assertThat(Output.bytes(512L)).isEqualTo("512 B");
        assertThat(Output.bytes(1536L)).isEqualTo("1.5 KiB");
        assertThat(Output.bytes(3L * 1024 * 1024 * 1024)).isEqualTo("3.0 GiB");
        assertThat(Output.age(45L)).isEqualTo("45s");
        assertThat(Output.age(725L)).isEqualTo("12m05s");
        assertThat(Output.age(3600L)).isEqualTo("1h00m");
        assertThat(Output.age(2 * 86400L + 4 * 3600L)).isEqualTo("2d04h");
        assertThat(Output.millis(3200L)).isEqualTo("3.2s");
        assertThat(Output.isoSeconds("PT24H")).isEqualTo(86400L);
    }

    @Test
    void tableColumnsAlignIgnoringColours() {
        Output o = new Output(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()),
                Output.Format.table, true, true, true);
        StringWriter sw = new StringWriter();
        new Output.Table("ID", "STATE").row("a", o.paint(Output.Colour.RED, "BREACH")).row("longer-id", "OK")
                .print(new PrintWriter(sw));
        String[] lines = sw.toString().split("\n");
        assertThat(lines[0]).isEqualTo("ID         STATE");
        assertThat(lines[1]).isEqualTo("a          \033[31mBREACH\033[0m");
        assertThat(lines[2]).isEqualTo("longer-id  OK");
    }

    @Test
    void problemsShowTitleDetailAndFieldsOnly() {
        Api.Response r = new Api.Response(400, """
                {"type":"about:blank","title":"Invalid request","status":400,"detail":"2 fields are invalid",
                 "errors":[{"field":"port","message":"must be at most 65535"},{"field":"host","message":"must be a host name"}]}""",
                "application/problem+json");
        assertThat(Api.problemText(r)).isEqualTo("Invalid request: 2 fields are invalid; port: must be at most 65535; "
                + "host: must be a host name");
        assertThat(Api.problemText(new Api.Response(401, "", ""))).isEqualTo("Unauthorized");
    }

    @Test
    void listsAreReadInEveryShapeTheServicesAnswer() throws Exception {
        Cmd.Page plain = Cmd.page(Api.JSON.readTree("[{\"id\":1},{\"id\":2}]"));
        assertThat(plain.items()).hasSize(2);
        assertThat(plain.nextCursor()).isNull();
        Cmd.Page numbered = Cmd.page(Api.JSON.readTree("{\"items\":[{\"id\":1}],\"page\":0,\"size\":1,\"total\":5}"));
        assertThat(numbered.total()).isEqualTo(5L);
        assertThat(numbered.page()).isZero();
        Cmd.Page keyset = Cmd.page(Api.JSON.readTree("{\"items\":[{\"id\":1}],\"nextCursor\":\"abc\"}"));
        assertThat(keyset.nextCursor()).isEqualTo("abc");
        assertThat(Cmd.page(Api.JSON.readTree("{\"items\":[],\"nextCursor\":null}")).nextCursor()).isNull();
    }

    @Test
    void flagsOverrideTheEnvironmentWhichOverridesTheConfigFile(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("config.yaml");
        Files.writeString(config, "gateway: https://lifeboat.example\ncatalog: https://catalog.example\ntoken: from.config.file\n");
        Path tokenFile = dir.resolve("token");
        Files.writeString(tokenFile, "from.token.file\n");
        Map<Settings.Service, String> none = new EnumMap<>(Settings.Service.class);

        Settings fromFile = Settings.resolve(new Settings.Flags(null, none, null, null, config), Map.of(), null);
        assertThat(fromFile.token).isEqualTo("from.config.file");
        assertThat(fromFile.urls.get(Settings.Service.CATALOG)).hasToString("https://catalog.example");
        assertThat(fromFile.urls.get(Settings.Service.SCHEDULER)).hasToString("https://lifeboat.example/scheduler");

        Settings fromEnv = Settings.resolve(new Settings.Flags(null, none, null, null, config),
                Map.of("LIFEBOAT_TOKEN", "from.env.var", "LIFEBOAT_CATALOG_URL", "http://127.0.0.1:9"), null);
        assertThat(fromEnv.token).isEqualTo("from.env.var");
        assertThat(fromEnv.tokenOrigin).isEqualTo("LIFEBOAT_TOKEN");
        assertThat(fromEnv.urls.get(Settings.Service.CATALOG)).hasToString("http://127.0.0.1:9");

        Map<Settings.Service, String> flagUrls = new EnumMap<>(Settings.Service.class);
        flagUrls.put(Settings.Service.CATALOG, "http://127.0.0.1:7/");
        Settings fromFlags = Settings.resolve(new Settings.Flags(null, flagUrls, null, tokenFile, config),
                Map.of("LIFEBOAT_TOKEN", "from.env.var"), null);
        assertThat(fromFlags.token).isEqualTo("from.token.file");
        assertThat(fromFlags.urls.get(Settings.Service.CATALOG)).hasToString("http://127.0.0.1:7");

        Settings defaults = Settings.resolve(new Settings.Flags(null, none, null, null, dir.resolve("absent.yaml")),
                Map.of(), null);
        assertThat(defaults.token).isNull();
        assertThat(defaults.urls.get(Settings.Service.RECOVERY)).hasToString("http://127.0.0.1:8084");
    }

    @Test
    void loginStoresTheTokenReadableByItsOwnerOnly(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("sub/config.yaml");
        Path tokenFile = dir.resolve("token");
        // header.payload.signature, payload {"sub":"alice"}
        Files.writeString(tokenFile, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln\n");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Lifeboat.execute(new String[]{"login", "--config", config.toString(), "--token-file",
                tokenFile.toString(), "--catalog-url", "http://127.0.0.1:18085"}, Map.of(), new PrintWriter(out),
                new PrintWriter(err));
        assertThat(exit).as(err.toString()).isZero();
        assertThat(out.toString()).contains("subject alice").doesNotContain("c2ln");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(config))).isEqualTo("rw-------");
        JsonNode stored = Settings.readConfig(config);
        assertThat(stored.get("token").asText()).isEqualTo("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln");
        assertThat(stored.get("catalog").asText()).isEqualTo("http://127.0.0.1:18085");
    }

    @Test
    void aServerAtItsLimitIsExitCodeSevenApartFromAnUnreachableSource() throws Exception {
        // a stand-in answering as snapshot-worker does when it runs as many source checks as it allows (the real
        // answer is SourceCheckTest's): the CLI tells "retry in a moment" from "the source cannot be reached"
        HttpServer busy = serve("/", exchange -> {
            byte[] body = ("{\"type\":\"about:blank\",\"title\":\"Too Many Requests\",\"status\":429,\"detail\":"
                    + "\"snapshot-worker is already running as many of these operations as it allows at once; retry in "
                    + "a few seconds\"}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/problem+json");
            exchange.getResponseHeaders().add("Retry-After", "5");
            exchange.sendResponseHeaders(429, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        try {
            StringWriter err = new StringWriter();
            int code = Lifeboat.execute(new String[]{"source", "check", "orders-db", "--gateway",
                    "http://127.0.0.1:" + busy.getAddress().getPort(), "--token", "a.b.c"}, Map.of(),
                    new PrintWriter(new StringWriter()), new PrintWriter(err));
            assertThat(code).isEqualTo(ExitCodes.BUSY);
            assertThat(err.toString()).contains("429").contains("retry in a few seconds");
        } finally {
            busy.stop(0);
        }
    }

    @Test
    void statusFollowsTheFleetsPagesAndCountsEverySource() throws Exception {
        // a stand-in for catalog-service's GET /api/v1/fleet in two pages (the real one is RpoComplianceTest's and the
        // end-to-end run's): status asks for every page and judges the whole fleet
        java.util.List<String> queries = new java.util.concurrent.CopyOnWriteArrayList<>();
        HttpServer catalog = serve("/api/v1/fleet", exchange -> {
            String query = exchange.getRequestURI().getRawQuery();
            queries.add(query);
            String json = query.contains("cursor=page2")
                    ? "{\"checkedAt\":\"2026-01-01T00:00:01Z\",\"sources\":[{\"sourceId\":\"b-late\",\"rpoSeconds\":60,"
                            + "\"rpoCompliant\":false,\"reason\":\"too old\"}],\"nextCursor\":null}"
                    : "{\"checkedAt\":\"2026-01-01T00:00:00Z\",\"sources\":[{\"sourceId\":\"a-ok\",\"rpoSeconds\":60,"
                            + "\"rpoCompliant\":true}],\"nextCursor\":\"page2\"}";
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            answer(exchange, body);
        });
        try {
            StringWriter out = new StringWriter();
            int code = Lifeboat.execute(new String[]{"status", "-o", "json", "--catalog-url",
                    "http://127.0.0.1:" + catalog.getAddress().getPort(), "--token", "a.b.c"}, Map.of(),
                    new PrintWriter(out), new PrintWriter(new StringWriter()));
            assertThat(code).isEqualTo(ExitCodes.FAILED);
            assertThat(queries).hasSize(2);
            assertThat(queries.get(0)).contains("size=").doesNotContain("cursor=");
            assertThat(queries.get(1)).contains("cursor=page2");
            JsonNode fleet = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.toString());
            assertThat(fleet.path("sources").findValuesAsText("sourceId")).containsExactly("a-ok", "b-late");
            assertThat(fleet.path("checkedAt").asText()).isEqualTo("2026-01-01T00:00:00Z");
        } finally {
            catalog.stop(0);
        }
        // a server that sends the same source under ever new cursors is not followed forever
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        HttpServer looping = serve("/api/v1/fleet", exchange -> {
            byte[] body = ("{\"checkedAt\":\"2026-01-01T00:00:00Z\",\"policiesKnown\":true,\"sources\":"
                    + "[{\"sourceId\":\"a-ok\",\"rpoCompliant\":true}],\"nextCursor\":\"c" + asked.incrementAndGet()
                    + "\"}").getBytes(StandardCharsets.UTF_8);
            answer(exchange, body);
        });
        try {
            StringWriter err = new StringWriter();
            int code = Lifeboat.execute(new String[]{"status", "--catalog-url",
                    "http://127.0.0.1:" + looping.getAddress().getPort(), "--token", "a.b.c"}, Map.of(),
                    new PrintWriter(new StringWriter()), new PrintWriter(err));
            assertThat(code).isEqualTo(ExitCodes.FAILED);
            assertThat(err.toString()).contains("went backwards");
            assertThat(asked.get()).isEqualTo(2);
        } finally {
            looping.stop(0);
        }
    }

    @Test
    void statusWithoutTheSchedulersAnswerSaysSoAndExitsFive() throws Exception {
        HttpServer catalog = serve("/api/v1/fleet", exchange -> {
            byte[] body = ("{\"checkedAt\":\"2026-01-01T00:00:00Z\",\"policiesKnown\":false,\"sources\":"
                    + "[{\"sourceId\":\"a\",\"rpoCompliant\":null,\"reason\":\"scheduler-service did not answer\"}],"
                    + "\"nextCursor\":null}").getBytes(StandardCharsets.UTF_8);
            answer(exchange, body);
        });
        try {
            StringWriter err = new StringWriter();
            int code = Lifeboat.execute(new String[]{"status", "--catalog-url",
                    "http://127.0.0.1:" + catalog.getAddress().getPort(), "--token", "a.b.c"}, Map.of(),
                    new PrintWriter(new StringWriter()), new PrintWriter(err));
            assertThat(code).isEqualTo(ExitCodes.UNREACHABLE);
            assertThat(err.toString()).contains("scheduler-service did not answer for part of the fleet");
        } finally {
            catalog.stop(0);
        }
    }

    @Test
    void exitCodesForUsageAndAnUnreachableServer() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        StringWriter err = new StringWriter();
        int unreachable = Lifeboat.execute(new String[]{"backup", "ls", "--catalog-url",
                "http://127.0.0.1:" + closedPort, "--token", "a.b.c"}, Map.of(), new PrintWriter(new StringWriter()),
                new PrintWriter(err));
        assertThat(unreachable).isEqualTo(ExitCodes.UNREACHABLE);
        // the option given after the subcommand applies (inherited from the root command)
        assertThat(err.toString()).contains("cannot reach catalog at http://127.0.0.1:" + closedPort)
                .doesNotContain("a.b.c");

        assertThat(Lifeboat.execute(new String[]{"backup", "show", "nope"}, Map.of(),
                new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()))).isEqualTo(ExitCodes.USAGE);
        assertThat(Lifeboat.execute(new String[]{"restore", "latest", "--target", "t", "--db", "x"}, Map.of(),
                new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()))).isEqualTo(ExitCodes.USAGE);
        StringWriter completion = new StringWriter();
        assertThat(Lifeboat.execute(new String[]{"completion"}, Map.of(), new PrintWriter(completion),
                new PrintWriter(new StringWriter()))).isZero();
        assertThat(completion.toString()).contains("complete -F").contains("backup");
    }

    /** A stand-in's 200 JSON answer. */
    private static void answer(com.sun.net.httpserver.HttpExchange exchange, byte[] body) throws java.io.IOException {
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    /** A stand-in HTTP server on a free loopback port, answering {@code path} with {@code handler}; started. */
    private static HttpServer serve(String path, com.sun.net.httpserver.HttpHandler handler) throws java.io.IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(path, handler);
        server.start();
        return server;
    }
}
