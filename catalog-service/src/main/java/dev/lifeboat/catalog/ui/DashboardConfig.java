package dev.lifeboat.catalog.ui;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;

/** The web dashboard ({@code lifeboat.ui.*}). */
@ConfigMapping(prefix = "lifeboat.ui")
public interface DashboardConfig {
    /** Zipkin's web UI (e.g. http://127.0.0.1:9411): a run page links to its trace there; absent: no link. */
    Optional<String> zipkinUrl();

    /** The cookie that names the signed-in person's session (an opaque id, never the token itself). */
    @WithDefault("lifeboat_session")
    String cookie();

    /**
     * The address people open the dashboard at, without /ui (https://lifeboat.example.com): the sign-in through the
     * OIDC provider returns to {@code <external-url>/ui/oidc/callback}, and when it is https the cookies are Secure
     * even if a proxy in front speaks http to this service.
     */
    Optional<URI> externalUrl();

    /** At most this many sessions are held; beyond it the least used end (their people sign in again). */
    @WithDefault("10000")
    int maxSessions();

    Oidc oidc();

    /** Sign-in through an OIDC provider (authorization code flow with PKCE); offered only when issuer and client are set. */
    interface Oidc {
        /** The provider's issuer; its discovery document is read from {@code <issuer>/.well-known/openid-configuration}. */
        Optional<String> issuer();

        /** The dashboard's client id at the provider. */
        Optional<String> clientId();

        /** The client's secret for a confidential client (sent as HTTP Basic); absent for a public client. */
        Optional<String> clientSecret();

        /** Scopes asked for; must yield an access token for Lifeboat (its audience, the roles claim). */
        @WithDefault("openid profile email")
        String scopes();

        /** The provider's name on the sign-in button; absent: the issuer's host. */
        Optional<String> providerName();

        /** A sign-in started but not completed within this time is forgotten (its state, nonce and PKCE verifier). */
        @WithDefault("10m")
        Duration signInTimeout();

        /** Deadline of each call to the provider (discovery, token exchange). */
        @WithDefault("10s")
        Duration requestTimeout();
    }
}
