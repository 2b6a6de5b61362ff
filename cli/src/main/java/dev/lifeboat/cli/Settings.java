package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumMap;
import java.util.Map;

/**
 * Where the services are and which token to send. Each value comes from, first to last: a command-line flag, an
 * environment variable, the config file ({@code ~/.config/lifeboat/config.yaml}, or {@code LIFEBOAT_CONFIG}), and
 * the local run's defaults (127.0.0.1:8081..8085, and the tokens {@code ./lifeboat} minted into
 * {@code <repository>/.work/tokens} when the CLI runs from the repository).
 */
final class Settings {
    /** The YAML mapper, made on first use: most commands read no config file and print no YAML. */
    static ObjectMapper yaml() {
        return Yaml.MAPPER;
    }

    private static final class Yaml {
        static final ObjectMapper MAPPER = new ObjectMapper(new YAMLFactory());
    }

    /** The five services the CLI talks to, with their config key and local port. */
    enum Service {
        SCHEDULER("scheduler", 8081), SNAPSHOT("snapshot", 8082), STORAGE("storage", 8083), RECOVERY("recovery", 8084), CATALOG("catalog", 8085);

        final String key;
        final int localPort;

        Service(String key, int localPort) {
            this.key = key;
            this.localPort = localPort;
        }

        String envVar() {
            return "LIFEBOAT_" + name() + "_URL";
        }
    }

    final Path configFile;
    final Map<Service, URI> urls = new EnumMap<>(Service.class);
    /** The token, never printed; null when none is configured anywhere. */
    final String token;
    /** Where the token came from, for messages ("LIFEBOAT_TOKEN", a file name): never the token itself. */
    final String tokenOrigin;

    private Settings(Path configFile, String token, String tokenOrigin) {
        this.configFile = configFile;
        this.token = token;
        this.tokenOrigin = tokenOrigin;
    }

    /** Flags given on the command line; null where not given. */
    record Flags(String gateway, Map<Service, String> urls, String token, Path tokenFile, Path config) {
    }

    static Path defaultConfigFile(Map<String, String> env) {
        if (env.get("LIFEBOAT_CONFIG") != null) {
            return Path.of(env.get("LIFEBOAT_CONFIG"));
        }
        String base = env.get("XDG_CONFIG_HOME");
        Path dir = base != null && !base.isBlank() ? Path.of(base) : Path.of(System.getProperty("user.home"), ".config");
        return dir.resolve("lifeboat").resolve("config.yaml");
    }

    static JsonNode readConfig(Path file) {
        if (!Files.isRegularFile(file)) {
            return Api.JSON.createObjectNode();
        }
        try {
            JsonNode n = yaml().readTree(file.toFile());
            if (n == null || n.isMissingNode() || n.isNull()) {
                return Api.JSON.createObjectNode();
            }
            if (!n.isObject()) {
                throw new CliException(ExitCodes.USAGE, "config file " + file + ": expected a mapping of keys");
            }
            return n;
        } catch (IOException e) {
            throw new CliException(ExitCodes.USAGE, "config file " + file + " is not valid YAML: " + e.getMessage());
        }
    }

    /** Writes the config file readable by its owner only (0600, its directory 0700), replacing it atomically. */
    static void writeConfig(Path file, ObjectNode config) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            try {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system: the platform's defaults apply
            }
            Path tmp = Files.createTempFile(dir, ".config", ".tmp");
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException ignored) {
                // as above
            }
            yaml().writeValue(tmp.toFile(), config);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CliException(ExitCodes.FAILED, "cannot write the config file " + file + ": " + e.getMessage());
        }
    }

    static Settings resolve(Flags flags, Map<String, String> env, Path repoRoot) {
        Path configFile = flags.config() != null ? flags.config() : defaultConfigFile(env);
        JsonNode config = readConfig(configFile);
        String gateway = first(flags.gateway(), env.get("LIFEBOAT_GATEWAY_URL"), text(config, "gateway"));

        String token = null;
        String origin = null;
        if (flags.token() != null) {
            token = flags.token();
            origin = "--token";
        } else if (flags.tokenFile() != null) {
            token = readToken(flags.tokenFile());
            origin = flags.tokenFile().toString();
        } else if (env.get("LIFEBOAT_TOKEN") != null && !env.get("LIFEBOAT_TOKEN").isBlank()) {
            token = env.get("LIFEBOAT_TOKEN").strip();
            origin = "LIFEBOAT_TOKEN";
        } else if (env.get("LIFEBOAT_TOKEN_FILE") != null) {
            token = readToken(Path.of(env.get("LIFEBOAT_TOKEN_FILE")));
            origin = env.get("LIFEBOAT_TOKEN_FILE");
        } else if (text(config, "token") != null) {
            token = text(config, "token");
            origin = configFile.toString();
        } else if (text(config, "tokenFile") != null) {
            token = readToken(Path.of(text(config, "tokenFile")));
            origin = text(config, "tokenFile");
        } else if (repoRoot != null) {
            // the local run: ./lifeboat minted an admin's token (it may do everything the CLI offers)
            Path local = repoRoot.resolve(".work/tokens/admin.token");
            if (Files.isReadable(local)) {
                token = readToken(local);
                origin = local.toString();
            }
        }

        Settings s = new Settings(configFile, token, origin);
        for (Service svc : Service.values()) {
            String url = first(flags.urls().get(svc), env.get(svc.envVar()), text(config, svc.key));
            if (url == null && gateway != null) {
                url = stripSlash(gateway) + "/" + svc.key;
            }
            if (url == null) {
                url = "http://127.0.0.1:" + svc.localPort;
            }
            s.urls.put(svc, parseUrl(svc, url));
        }
        return s;
    }

    private static URI parseUrl(Service svc, String url) {
        try {
            URI u = URI.create(stripSlash(url.strip()));
            if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https"))
                    || u.getHost() == null) {
                throw new IllegalArgumentException("not an http(s) URL");
            }
            return u;
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.USAGE, svc.key + " URL '" + url + "': " + e.getMessage());
        }
    }

    static String readToken(Path file) {
        try {
            String t = Files.readString(file).strip();
            if (t.isEmpty()) {
                throw new CliException(ExitCodes.AUTH, "the token file " + file + " is empty");
            }
            return t;
        } catch (IOException e) {
            throw new CliException(ExitCodes.AUTH, "cannot read the token file " + file + ": " + e.getMessage());
        }
    }

    private static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() || v.asText().isBlank() ? null : v.asText();
    }

    private static String first(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v;
            }
        }
        return null;
    }
}
