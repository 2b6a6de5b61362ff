package dev.lifeboat.identity;

import io.smallrye.jwt.build.Jwt;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashSet;

/**
 * Signs bearer tokens the way an OIDC provider would: issuer, subject, roles in the {@code groups} claim (or another
 * name), issued-at and expiry, RS256 with the key pair's private key. For the local run and the tests only; in
 * production an identity provider issues the tokens and the services verify them against its key set.
 */
public record TokenMinter(SigningKeys keys, String issuer, String rolesClaim, String audience) {
    /** Issuer of the local run's and the tests' tokens; the services' default {@code mp.jwt.verify.issuer}. */
    public static final String LOCAL_ISSUER = "https://lifeboat.local/issuer";
    /** The audience the services require by default ({@code mp.jwt.verify.audiences}). */
    public static final String AUDIENCE = "lifeboat";

    public TokenMinter(SigningKeys keys) {
        this(keys, LOCAL_ISSUER, "groups", AUDIENCE);
    }

    public String mint(String subject, Collection<String> roles, Duration lifetime) {
        long now = System.currentTimeMillis() / 1000;
        return Jwt.issuer(issuer)
                .subject(subject)
                .audience(audience)
                .upn(subject)
                .claim(rolesClaim, new LinkedHashSet<>(roles))
                .issuedAt(now)
                .expiresAt(now + lifetime.toSeconds())
                .jws().keyId("lifeboat-local")
                .sign(keys.privateKey());
    }
}
