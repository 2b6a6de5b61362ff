package dev.lifeboat.catalog;

import dev.lifeboat.identity.Roles;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.HttpCookie;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard's sign-in through an OIDC provider (mock-oauth2-server standing in for Keycloak or Entra ID), driven
 * as a browser drives it: a real HTTP client that keeps cookies and follows the redirects from the dashboard to the
 * provider's login form and back. The person gets exactly the role the provider's token gives; a wrong state, a
 * replayed answer, a sign-in whose PKCE verifier is gone, and an expired session are refused with a page that says
 * why; the session cookie holds a random id, not the token.
 */
@QuarkusTest
@WithTestResource(OidcProviderTestResource.class)
class DashboardOidcTest {
    private static final String SESSION = "lifeboat_session";
    /** The cookie that binds a sign-in's state to the browser that started it. */
    private static final String STATE = "lifeboat_oidc_state";

    private final String base = "http://127.0.0.1:" + OidcProviderTestResource.port;

    /** A browser: its cookie jar, one client that follows redirects and one that stops at each. */
    private final class Browser {
        final CookieManager jar = new CookieManager(null, CookiePolicy.ACCEPT_ALL);
        final HttpClient following = HttpClient.newBuilder().cookieHandler(jar)
                .followRedirects(HttpClient.Redirect.NORMAL).connectTimeout(Duration.ofSeconds(10)).build();
        final HttpClient stopping = HttpClient.newBuilder().cookieHandler(jar)
                .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build();

        HttpResponse<String> get(HttpClient client, String uri) {
            return send(client, HttpRequest.newBuilder(URI.create(uri)).GET());
        }

        HttpResponse<String> post(HttpClient client, String uri, Map<String, String> form) {
            String body = form.entrySet().stream().map(e -> enc(e.getKey()) + "=" + enc(e.getValue()))
                    .collect(Collectors.joining("&"));
            return send(client, HttpRequest.newBuilder(URI.create(uri))
                    .header("Content-Type", "application/x-www-form-urlencoded").header("Origin", base)
                    .POST(HttpRequest.BodyPublishers.ofString(body)));
        }

        Optional<String> cookie(String name) {
            return jar.getCookieStore().getCookies().stream()
                    .filter(c -> c.getName().equals(name) && !c.hasExpired()).map(HttpCookie::getValue).findFirst();
        }

        /** Starts the sign-in at the dashboard and stops at the provider's login form; returns its address. */
        String toProviderLogin() {
            HttpResponse<String> form = get(following, base + "/ui/oidc/sign-in");
            assertThat(form.statusCode()).as(form.body()).isEqualTo(200);
            assertThat(form.uri().toString()).startsWith(OidcProviderTestResource.issuer() + "/authorize?");
            assertThat(form.body()).contains("name=\"username\"");
            return form.uri().toString();
        }

        /**
         * Signs in at the provider's login form as {@code user} with these roles; the provider answers with a redirect
         * back to the dashboard, which {@code client} follows or not.
         */
        HttpResponse<String> login(HttpClient client, String loginForm, String user, List<String> groups,
                                   Long expiresAt) {
            // the audiences the registered client's tokens carry: the dashboard (ID token) and Lifeboat's API
            String claims = "{\"aud\":[\"" + OidcProviderTestResource.CLIENT_ID + "\",\"lifeboat\"],\"groups\":["
                    + groups.stream().map(g -> "\"" + g + "\"").collect(Collectors.joining(",")) + "]"
                    + (expiresAt == null ? "" : ",\"exp\":" + expiresAt) + "}";
            return post(client, loginForm, Map.of("username", user, "claims", claims));
        }

        /** Signs in at the provider as an operator and returns its answer, the address it sends the browser back to. */
        String providerAnswer() {
            HttpResponse<String> back = login(stopping, toProviderLogin(), "olivia", List.of(Roles.OPERATOR), null);
            assertThat(back.statusCode()).isEqualTo(302);
            String callback = back.headers().firstValue("Location").orElseThrow();
            assertThat(callback).startsWith(base + "/ui/oidc/callback?");
            return callback;
        }

        /** The whole sign-in: dashboard, provider's login form, back to the dashboard's "signed in" page. */
        HttpResponse<String> signIn(String user, List<String> groups) {
            HttpResponse<String> done = login(following, toProviderLogin(), user, groups, null);
            assertThat(done.uri().getPath()).isEqualTo("/ui/oidc/callback");
            return done;
        }
    }

    @Test
    void signInThroughTheProviderReachesTheFleetWithTheRoleTheProviderGives() {
        Browser browser = new Browser();
        String loginForm = browser.toProviderLogin();
        Map<String, String> asked = query(URI.create(loginForm));
        assertThat(asked).containsEntry("response_type", "code")
                .containsEntry("client_id", OidcProviderTestResource.CLIENT_ID)
                .containsEntry("redirect_uri", base + "/ui/oidc/callback")
                .containsEntry("code_challenge_method", "S256")
                .containsKeys("state", "nonce", "code_challenge");
        assertThat(asked.get("state")).hasSizeGreaterThanOrEqualTo(43).isNotEqualTo(asked.get("nonce"));

        HttpResponse<String> done = browser.login(browser.following, loginForm, "olivia",
                List.of(Roles.OPERATOR), null);
        assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
        assertThat(done.body()).contains("Signed in").contains("url=/ui");
        String setCookie = done.headers().allValues("Set-Cookie").stream().filter(c -> c.startsWith(SESSION + "="))
                .findFirst().orElseThrow();
        assertThat(setCookie).containsIgnoringCase("HttpOnly").containsIgnoringCase("SameSite=Strict")
                .contains("Path=/ui");
        String session = browser.cookie(SESSION).orElseThrow();
        // a random id, not the token: no JWT (three base64url parts, a JSON header) and no claim in it
        assertThat(session).matches("[A-Za-z0-9_-]{43}").doesNotContain(".").doesNotStartWith("eyJ");
        assertThat(browser.cookie(STATE)).isEmpty();

        HttpResponse<String> fleet = browser.get(browser.following, base + "/ui");
        assertThat(fleet.statusCode()).isEqualTo(200);
        assertThat(fleet.body()).contains("<h1>Fleet</h1>").contains("olivia").contains(Roles.OPERATOR);
        assertThat(browser.get(browser.following, base + "/ui/sources/any-source").body())
                .contains("request-backup");
    }

    @Test
    void aViewerSignedInThroughTheProviderSeesNoActionAndIsRefusedOne() {
        Browser browser = new Browser();
        browser.signIn("victor", List.of(Roles.VIEWER));
        HttpResponse<String> source = browser.get(browser.following, base + "/ui/sources/any-source");
        assertThat(source.statusCode()).isEqualTo(200);
        assertThat(source.body()).contains("victor").contains(Roles.VIEWER).doesNotContain("request-backup");
        HttpResponse<String> refused = browser.post(browser.stopping, base + "/ui/sources/any-source/backups",
                Map.of("type", "FULL"));
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.body()).contains("Your role may not do this");
        assertThat(browser.post(browser.stopping, base + "/ui/plans/any-plan/runs", Map.of()).statusCode())
                .isEqualTo(403);
    }

    @Test
    void aPersonTheProviderGivesNoLifeboatRoleGetsNoSession() {
        Browser browser = new Browser();
        HttpResponse<String> refused = browser.login(browser.following, browser.toProviderLogin(), "nora",
                List.of("another-application-role"), null);
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.body()).contains("holds no Lifeboat role");
        assertThat(browser.cookie(SESSION)).isEmpty();
    }

    @Test
    void anAnswerWithAnotherStateIsRefused() {
        Browser browser = new Browser();
        String callback = browser.providerAnswer();
        // the state cookie is sealed: it shows neither the state nor anything else, and an altered one is refused
        String sealedState = browser.cookie(STATE).orElseThrow();
        assertThat(sealedState).doesNotContain(query(URI.create(callback)).get("state"));
        char[] altered = sealedState.toCharArray();
        altered[30] = altered[30] == 'A' ? 'B' : 'A';
        HttpResponse<String> tampered = withStateCookie(callback, new String(altered));
        assertThat(tampered.statusCode()).isEqualTo(400);
        assertThat(tampered.body()).contains("does not belong to a sign-in started in this browser");

        String forged = callback.replaceAll("state=[^&]*", "state=" + "A".repeat(43));
        HttpResponse<String> refused = browser.get(browser.stopping, forged);
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).contains("does not belong to a sign-in started in this browser");
        assertThat(browser.cookie(SESSION)).isEmpty();

        // the same answer in another browser (one that did not start this sign-in) is refused too
        Browser other = new Browser();
        HttpResponse<String> elsewhere = other.get(other.stopping, callback);
        assertThat(elsewhere.statusCode()).isEqualTo(400);
        assertThat(elsewhere.body()).contains("does not belong to a sign-in started in this browser");
        assertThat(other.cookie(SESSION)).isEmpty();

        // none of these ended the sign-in under way in the first browser: its own answer still completes it
        assertThat(browser.get(browser.stopping, callback).statusCode()).isEqualTo(200);
        assertThat(browser.cookie(SESSION)).isPresent();
    }

    @Test
    void aReplayedAnswerIsRefused() {
        Browser browser = new Browser();
        String callback = browser.providerAnswer();
        String sealedState = browser.cookie(STATE).orElseThrow();
        assertThat(browser.get(browser.stopping, callback).statusCode()).isEqualTo(200);
        String session = browser.cookie(SESSION).orElseThrow();

        // the same code and state again, even with the state cookie put back: the sign-in they belonged to is used up
        HttpResponse<String> replayed = withStateCookie(callback, sealedState);
        assertThat(replayed.statusCode()).isEqualTo(400);
        assertThat(replayed.body()).contains("This sign-in was already completed");
        assertThat(replayed.headers().allValues("Set-Cookie")).noneMatch(c -> c.startsWith(SESSION + "="));
        assertThat(browser.cookie(SESSION)).contains(session);
    }

    @Test
    void anAnswerWhosePkceVerifierIsGoneIsRefused() throws InterruptedException {
        Browser browser = new Browser();
        String callback = browser.providerAnswer();
        String sealedState = browser.cookie(STATE).orElseThrow();
        // the verifier (with the nonce) is no longer accepted once the sign-in has taken longer than it may
        Thread.sleep(Duration.ofSeconds(OidcProviderTestResource.SIGN_IN_TIMEOUT_SECONDS + 1));
        HttpResponse<String> refused = withStateCookie(callback, sealedState);
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).contains("was started more than " + OidcProviderTestResource.SIGN_IN_TIMEOUT_SECONDS
                + " seconds ago");
        assertThat(refused.headers().allValues("Set-Cookie")).noneMatch(c -> c.startsWith(SESSION + "="));
    }

    @Test
    void aSessionEndsWithItsTokenAndTheSignInPageSaysSo() throws InterruptedException {
        Browser browser = new Browser();
        long expiresAt = Instant.now().getEpochSecond() + 4;
        HttpResponse<String> done = browser.login(browser.following, browser.toProviderLogin(), "olivia",
                List.of(Roles.OPERATOR), expiresAt);
        assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
        assertThat(browser.get(browser.stopping, base + "/ui").statusCode()).isEqualTo(200);
        String session = browser.cookie(SESSION).orElseThrow();
        Thread.sleep(Duration.ofSeconds(6));
        // the cookie lived as long as the token: the browser no longer sends it
        HttpResponse<String> gone = browser.get(browser.stopping, base + "/ui");
        assertThat(gone.statusCode()).isEqualTo(303);
        assertThat(gone.headers().firstValue("Location").orElseThrow()).endsWith("/ui/sign-in");
        // a browser that still sends it (its clock lags) finds the session ended on the server, and is told so
        HttpResponse<String> ended = send(HttpClient.newHttpClient(), HttpRequest.newBuilder(URI.create(base + "/ui"))
                .header("Cookie", SESSION + "=" + session).GET());
        assertThat(ended.statusCode()).isEqualTo(303);
        assertThat(ended.headers().firstValue("Location").orElseThrow()).endsWith("/ui/sign-in?ended=true");
        assertThat(ended.headers().allValues("Set-Cookie")).anySatisfy(c -> assertThat(c).contains("Max-Age=0"));
        assertThat(browser.get(browser.following, base + "/ui/sign-in?ended=true").body())
                .contains("Your session ended");
    }

    @Test
    void signOutEndsTheSessionAndContinuesToTheProvidersSignOut() {
        Browser browser = new Browser();
        browser.signIn("olivia", List.of(Roles.OPERATOR));
        String session = browser.cookie(SESSION).orElseThrow();
        HttpResponse<String> out = browser.post(browser.stopping, base + "/ui/sign-out", Map.of());
        assertThat(out.statusCode()).isEqualTo(303);
        URI next = URI.create(out.headers().firstValue("Location").orElseThrow());
        assertThat(next.toString()).startsWith(OidcProviderTestResource.issuer() + "/endsession?");
        assertThat(query(next)).containsEntry("client_id", OidcProviderTestResource.CLIENT_ID)
                .containsEntry("post_logout_redirect_uri", base + "/ui/signed-out")
                .containsKey("id_token_hint");
        assertThat(browser.cookie(SESSION)).isEmpty();

        // the session is gone on the server too: its id, sent again, opens nothing
        HttpResponse<String> stale = send(HttpClient.newHttpClient(), HttpRequest.newBuilder(URI.create(base + "/ui"))
                .header("Cookie", SESSION + "=" + session).GET());
        assertThat(stale.statusCode()).isEqualTo(303);
        assertThat(stale.headers().firstValue("Location").orElseThrow()).endsWith("/ui/sign-in?ended=true");
    }

    @Test
    void theSignInPageOffersTheProviderBesideTheTokenBoxAndATokenFromItWorksThere() {
        Browser browser = new Browser();
        String page = browser.get(browser.following, base + "/ui/sign-in").body();
        assertThat(page).contains("Sign in with Test provider").contains("href=\"/ui/oidc/sign-in\"")
                .contains("name=\"token\"");
        // a token the provider issued, pasted: the same verification, the same kind of session
        String token = OidcProviderTestResource.provider.issueToken(OidcProviderTestResource.ISSUER_ID, "paula",
                new no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback(OidcProviderTestResource.ISSUER_ID,
                        "paula", "JWT", List.of("lifeboat"), Map.of("groups", List.of(Roles.VIEWER)), 600))
                .serialize();
        HttpResponse<String> in = browser.post(browser.stopping, base + "/ui/sign-in", Map.of("token", token));
        assertThat(in.statusCode()).as(in.body()).isEqualTo(303);
        assertThat(browser.cookie(SESSION).orElseThrow()).matches("[A-Za-z0-9_-]{43}");
        assertThat(browser.get(browser.following, base + "/ui").body()).contains("paula");
    }

    /** The provider's answer sent as a browser that holds that sign-in's state cookie would send it. */
    private static HttpResponse<String> withStateCookie(String callback, String sealedState) {
        return send(HttpClient.newHttpClient(), HttpRequest.newBuilder(URI.create(callback))
                .header("Cookie", STATE + "=" + sealedState).GET());
    }

    private static Map<String, String> query(URI uri) {
        return Arrays.stream(uri.getRawQuery().split("&")).map(p -> p.split("=", 2))
                .collect(Collectors.toMap(p -> URLDecoder.decode(p[0], StandardCharsets.UTF_8),
                        p -> p.length < 2 ? "" : URLDecoder.decode(p[1], StandardCharsets.UTF_8), (a, b) -> b));
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static HttpResponse<String> send(HttpClient client, HttpRequest.Builder request) {
        try {
            return client.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
