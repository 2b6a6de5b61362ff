package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;

/**
 * {@code lifeboat login}: stores a token in the config file (0600), given on standard input, in a file or as a flag,
 * or fetched from an OIDC token endpoint with client credentials; optionally the services' URLs too.
 */
@Command(name = "login", description = "Stores a token (and the services' URLs) in the config file, readable by "
        + "you only. The token: --with-token reads it from standard input; or fetched from an OIDC token endpoint "
        + "with client credentials (--token-url, --client-id, --client-secret-file).")
final class LoginCommand extends Cmd {
    @Option(names = "--with-token", description = "read the token from standard input")
    boolean withToken;

    @ArgGroup(exclusive = false)
    Oidc oidc;

    static final class Oidc {
        @Option(names = "--token-url", required = true, paramLabel = "URL", description = "the provider's token endpoint")
        String tokenUrl;
        @Option(names = "--client-id", required = true)
        String clientId;
        @Option(names = "--client-secret-file", required = true, paramLabel = "FILE")
        Path clientSecretFile;
        @Option(names = "--scope")
        String scope;
        @Option(names = "--audience", description = "audience parameter some providers need (Lifeboat expects 'lifeboat')")
        String audience;
    }

    @Override
    public Integer call() {
        Lifeboat root = root();
        Path file = root.config != null ? root.config : Settings.defaultConfigFile(root.env);
        ObjectNode config = (ObjectNode) Settings.readConfig(file);
        String token;
        String how;
        if (oidc != null) {
            token = fetch(oidc);
            how = "client credentials from " + URI.create(oidc.tokenUrl).getHost();
            ObjectNode o = config.putObject("oidc");
            o.put("tokenUrl", oidc.tokenUrl).put("clientId", oidc.clientId)
                    .put("clientSecretFile", oidc.clientSecretFile.toAbsolutePath().toString());
            if (oidc.scope != null) {
                o.put("scope", oidc.scope);
            }
        } else if (withToken) {
            try {
                token = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            } catch (IOException e) {
                throw new CliException(ExitCodes.FAILED, "cannot read the token from standard input: " + e.getMessage());
            }
            how = "standard input";
        } else if (root.tokenFile != null) {
            token = Settings.readToken(root.tokenFile);
            how = root.tokenFile.toString();
        } else if (root.token != null) {
            token = root.token;
            how = "--token";
        } else {
            throw usage("give the token: --with-token (stdin), --token-file FILE, or --token-url/--client-id/"
                    + "--client-secret-file for an OIDC provider");
        }
        token = token == null ? "" : token.strip();
        if (!token.matches("^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$")) {
            throw new CliException(ExitCodes.AUTH, "that is not a JWT (three base64url parts)");
        }
        config.put("token", token);
        config.remove("tokenFile");
        if (root.gateway != null) config.put("gateway", root.gateway);
        if (root.schedulerUrl != null) config.put("scheduler", root.schedulerUrl);
        if (root.catalogUrl != null) config.put("catalog", root.catalogUrl);
        if (root.recoveryUrl != null) config.put("recovery", root.recoveryUrl);
        if (root.storageUrl != null) config.put("storage", root.storageUrl);
        if (root.snapshotUrl != null) config.put("snapshot", root.snapshotUrl);
        Settings.writeConfig(file, config);
        String who = subject(token);
        out().out.println("token from " + how + (who == null ? "" : " (subject " + who + expiry(token) + ")")
                + " stored in " + file);
        out().out.flush();
        return ExitCodes.OK;
    }

    private static String fetch(Oidc o) {
        String secret = Settings.readToken(o.clientSecretFile);
        StringBuilder form = new StringBuilder("grant_type=client_credentials");
        if (o.scope != null) {
            form.append("&scope=").append(URLEncoder.encode(o.scope, StandardCharsets.UTF_8));
        }
        if (o.audience != null) {
            form.append("&audience=").append(URLEncoder.encode(o.audience, StandardCharsets.UTF_8));
        }
        String basic = Base64.getEncoder().encodeToString((URLEncoder.encode(o.clientId, StandardCharsets.UTF_8) + ":"
                + URLEncoder.encode(secret, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
        URI uri;
        try {
            uri = URI.create(o.tokenUrl);
            if (!"https".equals(uri.getScheme()) && !"127.0.0.1".equals(uri.getHost()) && !"localhost".equals(uri.getHost())) {
                throw new CliException(ExitCodes.USAGE, "--token-url must be https (the client secret travels in it)");
            }
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.USAGE, "--token-url: " + e.getMessage());
        }
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json")
                .header("Authorization", "Basic " + basic).POST(HttpRequest.BodyPublishers.ofString(form.toString()))
                .build();
        try {
            HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
                    .send(req, HttpResponse.BodyHandlers.ofString());
            JsonNode body = Api.JSON.readTree(r.body().isBlank() ? "{}" : r.body());
            if (r.statusCode() != 200 || !body.hasNonNull("access_token")) {
                // OAuth errors carry error and error_description, never the secret
                throw new CliException(r.statusCode() == 401 || r.statusCode() == 400 ? ExitCodes.AUTH : ExitCodes.FAILED,
                        "the token endpoint answered " + r.statusCode() + ": " + body.path("error").asText("no token")
                                + (body.hasNonNull("error_description") ? " (" + body.get("error_description").asText() + ")" : ""));
            }
            return body.get("access_token").asText();
        } catch (IOException e) {
            throw new CliException(ExitCodes.UNREACHABLE, "cannot reach the token endpoint " + uri.getHost() + ": "
                    + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException(ExitCodes.FAILED, "interrupted");
        }
    }

    /** The token's subject, read (not verified: the services verify) from its payload for the message. */
    static String subject(String jwt) {
        JsonNode p = payload(jwt);
        return p == null ? null : p.path("sub").asText(null);
    }

    private static String expiry(String jwt) {
        JsonNode p = payload(jwt);
        return p == null || !p.path("exp").isNumber() ? "" : ", expires " + Instant.ofEpochSecond(p.get("exp").asLong());
    }

    private static JsonNode payload(String jwt) {
        try {
            return Api.JSON.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[1]));
        } catch (IOException | IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
            return null;
        }
    }
}
