package dev.lifeboat.testsupport;

import dev.lifeboat.identity.Roles;
import dev.lifeboat.identity.SigningKeys;
import dev.lifeboat.identity.TokenMinter;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Bearer tokens for tests, signed with a key pair kept in {@code <checkout>/.work/test-jwt/} (created once, shared by
 * every test JVM of the checkout). A service under test verifies them with {@link #quarkusConfig()}; the tests call
 * its API with {@code Authorization: Bearer <token>}. Nothing is switched off: tests authenticate like users do.
 */
public final class Tokens {
    private static SigningKeys keys;

    private Tokens() {
    }

    public static synchronized SigningKeys keys() {
        if (keys == null) {
            keys = SigningKeys.loadOrCreate(LocalStack.findRepoRoot().resolve(".work/test-jwt"));
        }
        return keys;
    }

    /** A token of subject {@code subject} holding exactly {@code roles}, valid for an hour. */
    public static String mint(String subject, String... roles) {
        return new TokenMinter(keys()).mint(subject, List.of(roles), Duration.ofHours(1));
    }

    /** A token holding {@code lifeboat-viewer} only. */
    public static String viewer() { return mint("test-viewer", Roles.VIEWER); }

    /** A token holding {@code lifeboat-viewer} and {@code lifeboat-operator}. */
    public static String operator() { return mint("test-operator", Roles.upTo(Roles.OPERATOR).toArray(String[]::new)); }

    /** A token holding every role. */
    public static String admin() { return mint("test-admin", Roles.ALL.toArray(String[]::new)); }

    /** {@code Authorization} header value for {@code token}. */
    public static String bearer(String token) { return "Bearer " + token; }

    /** Header map with {@code Authorization: Bearer <token>}, for {@link Http}. */
    public static Map<String, String> auth(String token) { return Map.of("Authorization", bearer(token)); }

    /** Configuration that makes a service under test verify these tokens (issuer and public key). */
    public static Map<String, String> quarkusConfig() {
        Map<String, String> config = new HashMap<>();
        config.put("mp.jwt.verify.publickey.location", keys().publicKeyFile().toUri().toString());
        config.put("mp.jwt.verify.issuer", TokenMinter.LOCAL_ISSUER);
        return config;
    }

    /**
     * A file holding the bearer token a service uses for its own calls to other services (subject {@code service},
     * role lifeboat-viewer only), for {@code lifeboat.service-auth.token-file} / {@code LIFEBOAT_SERVICE_TOKEN_FILE}.
     */
    public static synchronized String serviceTokenFile(String service) {
        java.nio.file.Path file = keys().directory().resolve(service + ".token");
        try {
            // replaced in one move: a service of another test JVM (test lanes run at once) reading the file never
            // finds it truncated
            java.nio.file.Path next = java.nio.file.Files.createTempFile(file.getParent(), service, ".token.tmp");
            java.nio.file.Files.writeString(next, mint(service, Roles.VIEWER));
            java.nio.file.Files.move(next, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return file.toString();
    }

    /** Environment for a service run as a process (ServiceProcess) to verify these tokens. */
    public static Map<String, String> serviceEnvironment() {
        return Map.of("LIFEBOAT_JWT_PUBLIC_KEY_LOCATION", keys().publicKeyFile().toUri().toString(),
                "LIFEBOAT_JWT_ISSUER", TokenMinter.LOCAL_ISSUER);
    }
}
