package dev.lifeboat.catalog.ui;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.jwt.auth.principal.DefaultJWTCallerPrincipalFactory;
import io.smallrye.jwt.auth.principal.DefaultJWTParser;
import io.smallrye.jwt.auth.principal.JWTAuthContextInfo;
import io.smallrye.jwt.auth.principal.JWTParser;
import io.smallrye.jwt.auth.principal.ParseException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.jwt.JsonWebToken;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * The dashboard's side of the OIDC authorization code flow with PKCE: the provider's discovery document, the
 * authorization request, the exchange of the code for tokens, and the ID token's verification (signature by the
 * provider's key set, issuer, audience = this client, nonce). Configured by {@code lifeboat.ui.oidc.*}; the redirect URI
 * is {@code <lifeboat.ui.external-url>/ui/oidc/callback}, never taken from a request.
 */
@ApplicationScoped
public class OidcProvider {
    static final String CALLBACK = "/ui/oidc/callback";

    /** What the provider's discovery document says this flow needs. */
    record Metadata(String issuer, URI authorizationEndpoint, URI tokenEndpoint, String jwksUri,
                    Optional<URI> endSessionEndpoint) {
    }

    /** The tokens of a completed sign-in. */
    record Tokens(String accessToken, String idToken) {
        @Override
        public String toString() {
            return "Tokens[...]";
        }
    }

    /** A step of the flow failed; the message is for the person signing in (no token, no secret in it). */
    static final class OidcException extends Exception {
        final int status;

        OidcException(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    /** The most of a provider's answer (discovery document, token response) that is read. */
    private static final int MAX_ANSWER_BYTES = 1024 * 1024;
    /** Reads answer bodies, so that a deadline can be kept on a body that trickles. */
    private static final ExecutorService READERS = Executors.newVirtualThreadPerTaskExecutor();

    private final DashboardConfig.Oidc config;
    private final Optional<URI> externalUrl;
    private final ObjectMapper json;
    private final JWTParser parser;
    private final HttpClient http;
    private volatile Metadata metadata;

    public OidcProvider(DashboardConfig config, ObjectMapper json) {
        this.config = config.oidc();
        this.externalUrl = config.externalUrl();
        this.json = json;
        // a parser of its own: smallrye-jwt's keeps the key set of the first token it verified, so sharing the API's
        // would check ID tokens against the API's keys, or API tokens against the provider's, whichever came first
        this.parser = new DefaultJWTParser(new DefaultJWTCallerPrincipalFactory());
        this.http = HttpClient.newBuilder().connectTimeout(this.config.requestTimeout())
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** A half-configured provider is a mistake to report at start, not on the first person's sign-in. */
    void check(@Observes StartupEvent start) {
        boolean any = config.issuer().isPresent() || config.clientId().isPresent();
        if (any && !configured()) {
            throw new IllegalStateException("The dashboard's OIDC sign-in needs LIFEBOAT_OIDC_ISSUER, "
                    + "LIFEBOAT_OIDC_CLIENT_ID and LIFEBOAT_UI_EXTERNAL_URL (the address people open the dashboard "
                    + "at, for the redirect URI <external-url>" + CALLBACK + "); some are missing.");
        }
        config.issuer().ifPresent(issuer -> {
            if (!secureOrLoopback(URI.create(issuer))) {
                throw new IllegalStateException("LIFEBOAT_OIDC_ISSUER must be an https URL (plain http only for a "
                        + "provider on this host's loopback), not '" + issuer + "': the sign-in's code and the client "
                        + "secret travel to it");
            }
        });
        externalUrl.ifPresent(u -> {
            if (!secureOrLoopback(u)) {
                throw new IllegalStateException("LIFEBOAT_UI_EXTERNAL_URL must be an https URL such as "
                        + "https://lifeboat.example.com (plain http only on this host's loopback), not '" + u
                        + "': the provider's authorization code and the session cookie travel to it");
            }
        });
    }

    boolean configured() {
        return config.issuer().isPresent() && config.clientId().isPresent() && externalUrl.isPresent();
    }

    /** The name on the sign-in button; null when no provider is configured. */
    String name() {
        if (!configured()) {
            return null;
        }
        return config.providerName().orElseGet(() -> {
            String host = URI.create(config.issuer().get()).getHost();
            return host == null ? "your identity provider" : host;
        });
    }

    URI redirectUri() {
        return URI.create(externalUrl.orElseThrow().toString().replaceAll("/+$", "") + CALLBACK);
    }

    /** The provider's endpoints, read once from its discovery document (again after a failure). */
    Metadata metadata() throws OidcException {
        Metadata m = metadata;
        if (m != null) {
            return m;
        }
        String issuer = config.issuer().orElseThrow();
        URI discovery = URI.create(issuer.replaceAll("/+$", "") + "/.well-known/openid-configuration");
        JsonNode doc = call(HttpRequest.newBuilder(discovery).GET(), "its discovery document " + discovery);
        // OpenID Connect Discovery 1.0, section 4.3: the document's issuer is exactly the one configured
        if (!issuer.equals(doc.path("issuer").asText())) {
            throw new OidcException(502, "The identity provider's discovery document " + discovery + " names issuer '"
                    + doc.path("issuer").asText() + "', not the configured '" + issuer + "'.");
        }
        m = new Metadata(issuer, endpoint(doc, "authorization_endpoint").orElseThrow(() -> missing(discovery,
                "authorization_endpoint")), endpoint(doc, "token_endpoint").orElseThrow(() -> missing(discovery,
                "token_endpoint")), endpoint(doc, "jwks_uri").orElseThrow(() -> missing(discovery, "jwks_uri"))
                .toString(), endpoint(doc, "end_session_endpoint"));
        metadata = m;
        return m;
    }

    /** Where to send the browser: the provider's authorization endpoint with this sign-in's state, nonce and challenge. */
    URI authorizationRequest(String state, String nonce, String verifier) throws OidcException {
        Map<String, String> q = new LinkedHashMap<>();
        q.put("response_type", "code");
        q.put("client_id", config.clientId().orElseThrow());
        q.put("redirect_uri", redirectUri().toString());
        q.put("scope", config.scopes());
        q.put("state", state);
        q.put("nonce", nonce);
        q.put("code_challenge", challenge(verifier));
        q.put("code_challenge_method", "S256");
        URI endpoint = metadata().authorizationEndpoint();
        return URI.create(endpoint + (endpoint.getRawQuery() == null ? "?" : "&") + form(q));
    }

    /** Exchanges the code for tokens, proving with the PKCE verifier that this is the sign-in that asked for it. */
    Tokens exchange(String code, String verifier) throws OidcException {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("grant_type", "authorization_code");
        f.put("code", code);
        f.put("redirect_uri", redirectUri().toString());
        f.put("code_verifier", verifier);
        HttpRequest.Builder post = HttpRequest.newBuilder(metadata().tokenEndpoint())
                .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json");
        if (config.clientSecret().isPresent()) {
            // RFC 6749 section 2.3.1: id and secret form-encoded, then Basic
            String basic = enc(config.clientId().get()) + ":" + enc(config.clientSecret().get());
            post.header("Authorization", "Basic " + Base64.getEncoder()
                    .encodeToString(basic.getBytes(StandardCharsets.UTF_8)));
        } else {
            f.put("client_id", config.clientId().get());
        }
        JsonNode tokens = call(post.POST(HttpRequest.BodyPublishers.ofString(form(f))), "the code");
        String access = tokens.path("access_token").asText("");
        String id = tokens.path("id_token").asText("");
        if (access.isEmpty() || id.isEmpty()) {
            throw new OidcException(502, "The identity provider's token response lacks an access token or an ID "
                    + "token (is the scope 'openid' asked for?).");
        }
        return new Tokens(access, id);
    }

    /** The ID token, verified: the provider's signature, issuer, audience (this client), expiry, and this nonce. */
    JsonWebToken verifyIdToken(String idToken, String nonce) throws OidcException {
        Metadata m = metadata();
        JWTAuthContextInfo ctx = new JWTAuthContextInfo(m.jwksUri(), m.issuer());
        ctx.setExpectedAudience(Set.of(config.clientId().get()));
        JsonWebToken id;
        try {
            id = parser.parse(idToken, ctx);
        } catch (ParseException e) {
            throw new OidcException(401, "The identity provider's ID token is not accepted: not signed by its keys, "
                    + "not for this client, or expired.");
        }
        // OpenID Connect Core 3.1.3.7: with several audiences, the party it was issued to must be this client
        Object azp = id.getClaim("azp");
        if (azp != null && !config.clientId().get().equals(azp.toString().replace("\"", ""))) {
            throw new OidcException(401, "The identity provider's ID token was issued to another client.");
        }
        Object claim = id.getClaim("nonce");
        String got = claim == null ? "" : claim.toString().replace("\"", "");
        if (!MessageDigest.isEqual(got.getBytes(StandardCharsets.UTF_8), nonce.getBytes(StandardCharsets.UTF_8))) {
            throw new OidcException(401, "The identity provider's ID token does not carry this sign-in's nonce: it "
                    + "was issued for another sign-in.");
        }
        return id;
    }

    /** The provider's sign-out for a session begun there, returning to the sign-in page; empty when it has none. */
    Optional<URI> endSession(String idToken) {
        Metadata m = metadata;
        if (m == null || m.endSessionEndpoint().isEmpty()) {
            return Optional.empty();
        }
        Map<String, String> q = new LinkedHashMap<>();
        q.put("client_id", config.clientId().orElseThrow());
        q.put("post_logout_redirect_uri", externalUrl.orElseThrow().toString().replaceAll("/+$", "")
                + SessionResource.SIGNED_OUT);
        if (idToken != null) {
            q.put("id_token_hint", idToken);
        }
        URI endpoint = m.endSessionEndpoint().get();
        return Optional.of(URI.create(endpoint + (endpoint.getRawQuery() == null ? "?" : "&") + form(q)));
    }

    /** RFC 7636: BASE64URL(SHA-256(ASCII(code_verifier))). */
    static String challenge(String verifier) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private JsonNode call(HttpRequest.Builder request, String what) throws OidcException {
        HttpRequest r = request.timeout(config.requestTimeout()).build();
        HttpResponse<InputStream> response;
        byte[] answer;
        try {
            response = http.send(r, HttpResponse.BodyHandlers.ofInputStream());
            // the request's timeout ends at the headers: the body gets the same time again, then its stream is
            // closed under the reader; and it is read to one byte past the limit, never more
            try (InputStream in = response.body()) {
                Future<byte[]> read = READERS.submit(() -> in.readNBytes(MAX_ANSWER_BYTES + 1));
                try {
                    answer = read.get(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    read.cancel(true);
                    throw new OidcException(502, "The identity provider at " + r.uri().getHost() + " did not finish "
                            + "its answer for " + what + " within " + config.requestTimeout().toSeconds()
                            + " s. Try again, or sign in with a token.");
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
                }
            }
        } catch (IOException e) {
            throw new OidcException(502, "The identity provider at " + r.uri().getHost() + " did not answer for "
                    + what + " (" + e.getClass().getSimpleName() + "). Try again, or sign in with a token.");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OidcException(503, "Interrupted while asking the identity provider.");
        }
        if (answer.length > MAX_ANSWER_BYTES) {
            throw new OidcException(502, "The identity provider at " + r.uri().getHost() + " answered more than "
                    + MAX_ANSWER_BYTES / 1024 + " KiB for " + what + "; that is not an answer Lifeboat reads.");
        }
        JsonNode body;
        try {
            body = json.readTree(answer);
        } catch (IOException notJson) {
            body = null;
        }
        if (response.statusCode() / 100 != 2 || body == null || !body.isObject()) {
            // the provider's words go into the log and onto the page: no control characters (line breaks) in them
            String error = body != null && body.hasNonNull("error") ? " (" + printable(body.path("error").asText())
                    + (body.hasNonNull("error_description") ? ": " + printable(body.path("error_description").asText())
                    : "") + ")" : "";
            int status = response.statusCode() == 400 || response.statusCode() == 401 ? 401 : 502;
            throw new OidcException(status, "The identity provider refused " + what + ": HTTP "
                    + response.statusCode() + error + ".");
        }
        return body;
    }

    private Optional<URI> endpoint(JsonNode doc, String name) {
        String v = doc.path(name).asText("");
        if (v.isEmpty()) {
            return Optional.empty();
        }
        URI u = URI.create(v);
        return secureOrLoopback(u) ? Optional.of(u) : Optional.empty();
    }

    /** https, or plain http to a loopback address (a provider on this host, as in a local run). */
    static boolean secureOrLoopback(URI u) {
        if ("https".equalsIgnoreCase(u.getScheme())) {
            return u.getHost() != null;
        }
        if (!"http".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
            return false;
        }
        String host = u.getHost().replaceAll("^\\[|]$", "");
        return host.equalsIgnoreCase("localhost") || host.equals("::1")
                || host.matches("127\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){2}");
    }

    private static OidcException missing(URI discovery, String field) {
        return new OidcException(502, "The identity provider's discovery document " + discovery + " has no usable "
                + field + " (an https URL; plain http only on this host's loopback).");
    }

    static String clip(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    /** At most 200 characters, control characters replaced. */
    static String printable(String s) {
        return clip(s).replaceAll("\\p{Cntrl}", "?");
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String form(Map<String, String> values) {
        return values.entrySet().stream().map(e -> enc(e.getKey()) + "=" + enc(e.getValue()))
                .collect(Collectors.joining("&"));
    }
}
