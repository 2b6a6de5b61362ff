package dev.lifeboat.catalog;

import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.Map;

/**
 * The catalog as {@link CatalogTestResource} runs it, with an OIDC provider beside it: NAV's mock-oauth2-server (an
 * authorization server for tests: discovery, a login form, authorization code with PKCE, nonce, signed tokens, its key
 * set), standing in for Keycloak or Entra ID. The service verifies API tokens against that provider (its issuer and key
 * set), as a deployment connected to one does, and offers the dashboard's sign-in through it. The service listens on a
 * port chosen here, because the redirect URI registered for the dashboard is fixed by configuration.
 */
public class OidcProviderTestResource extends CatalogTestResource {
    static final String ISSUER_ID = "lifeboat-idp";
    static final String CLIENT_ID = "lifeboat-dashboard";
    /** The sign-in timeout of the test: short enough for a test to outwait it. */
    static final int SIGN_IN_TIMEOUT_SECONDS = 15;

    static MockOAuth2Server provider;
    static int port;

    @Override
    public Map<String, String> start() {
        Map<String, String> config = new HashMap<>(super.start());
        provider = new MockOAuth2Server(OAuth2Config.Companion.fromJson("{\"interactiveLogin\":true}"));
        try {
            provider.start(InetAddress.getByName("127.0.0.1"), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String issuer = issuer();
        port = freePort();
        config.put("quarkus.http.test-port", String.valueOf(port));
        config.put("lifeboat.ui.external-url", "http://127.0.0.1:" + port);
        config.put("lifeboat.ui.oidc.issuer", issuer);
        config.put("lifeboat.ui.oidc.client-id", CLIENT_ID);
        config.put("lifeboat.ui.oidc.client-secret", "dashboard-test-secret");
        config.put("lifeboat.ui.oidc.provider-name", "Test provider");
        config.put("lifeboat.ui.oidc.sign-in-timeout", SIGN_IN_TIMEOUT_SECONDS + "s");
        // the API's own verification, pointed at the provider: every token, pasted or from the sign-in, passes it
        config.put("mp.jwt.verify.issuer", issuer);
        config.put("mp.jwt.verify.publickey.location", issuer + "/jwks");
        return config;
    }

    @Override
    public void stop() {
        if (provider != null) {
            provider.shutdown();
        }
        super.stop();
    }

    static String issuer() {
        return provider.issuerUrl(ISSUER_ID).toString().replaceAll("/+$", "");
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
