package dev.lifeboat.catalog.ui;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.smallrye.jwt.auth.principal.JWTParser;
import io.smallrye.jwt.auth.principal.ParseException;
import jakarta.annotation.security.PermitAll;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Cookie;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.NewCookie;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import org.eclipse.microprofile.faulttolerance.Bulkhead;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.logging.Logger;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;

/**
 * Sign-in through the configured OIDC provider: the authorization code flow with PKCE (S256). The sign-in under way
 * (its state, nonce, PKCE verifier and deadline) travels in a short-lived cookie sealed with a key of this process
 * (AES-256-GCM: the browser can neither read nor alter it), so starting a sign-in keeps nothing here: however many
 * are started, none crowds out another. A state serves one answer: it is remembered as used until its deadline. The
 * access token the provider returns must pass the API's own verification (issuer, key set, audience, roles claim):
 * the person gets exactly the role it gives them, as with a pasted token.
 */
@Path("/ui/oidc")
@Produces(MediaType.TEXT_HTML)
public class OidcSignInResource {
    private static final Logger LOG = Logger.getLogger(OidcSignInResource.class);
    /** Binds a sign-in's state to the browser that started it; sent on the provider's redirect back (SameSite=Lax). */
    static final String STATE_COOKIE = "lifeboat_oidc_state";

    /** What a sign-in under way keeps (in its sealed cookie) until the provider sends the person back. */
    record Pending(String state, String nonce, String verifier, Instant expiresAt) {
    }

    private final OidcProvider provider;
    private final SessionResource session;
    private final DashboardSessions sessions;
    private final JWTParser parser;
    private final SealedState sealed = new SealedState();
    /** States whose answer has come back, until their deadline: a replayed answer finds its state here. */
    private final Cache<String, Boolean> used;
    private final Duration timeout;

    public OidcSignInResource(OidcProvider provider, SessionResource session, DashboardSessions sessions,
                              JWTParser parser, DashboardConfig config) {
        this.provider = provider;
        this.session = session;
        this.sessions = sessions;
        this.parser = parser;
        this.timeout = config.oidc().signInTimeout();
        this.used = Caffeine.newBuilder().maximumSize(config.maxSessions()).expireAfterWrite(timeout).build();
    }

    @PermitAll
    @GET
    @Path("sign-in")
    @Operation(hidden = true)
    public Response start(@Context UriInfo uri) {
        if (!provider.configured()) {
            return session.refused(404, "No identity provider is configured for this dashboard: sign in with a token.");
        }
        Pending p = new Pending(DashboardSessions.randomId(), DashboardSessions.randomId(), DashboardSessions.randomId(),
                Instant.now().plus(timeout));
        URI authorize;
        try {
            authorize = provider.authorizationRequest(p.state(), p.nonce(), p.verifier());
        } catch (OidcProvider.OidcException e) {
            LOG.warnf("OIDC sign-in not started: %s", e.getMessage());
            return session.refused(e.status, e.getMessage());
        }
        return Response.seeOther(authorize).cookie(stateCookie(sealed.seal(p), (int) timeout.toSeconds(), uri)).build();
    }

    /** At most this many answers are being exchanged with the provider at once; one more is answered 429. */
    static final int CALLBACKS_AT_ONCE = 16;

    @PermitAll
    @GET
    @Path("callback")
    @Operation(hidden = true)
    // anyone can start sign-ins and send answers back: each costs a call to the provider, so only so many at once
    @Bulkhead(CALLBACKS_AT_ONCE)
    public Response callback(@QueryParam("code") String code, @QueryParam("state") String state,
                             @QueryParam("error") String error, @QueryParam("error_description") String description,
                             @Context HttpHeaders headers, @Context UriInfo uri) {
        Cookie bound = headers.getCookies().get(STATE_COOKIE);
        Optional<Pending> started = bound == null ? Optional.empty() : sealed.open(bound.getValue());
        boolean ours = state != null && started.isPresent() && MessageDigest.isEqual(
                state.getBytes(StandardCharsets.UTF_8), started.get().state().getBytes(StandardCharsets.UTF_8));
        Response refused = check(code, ours, error, description);
        if (refused != null) {
            // an answer that is not this browser's leaves its sign-in under way (a link from elsewhere cannot end it);
            // one that is, but carries the provider's refusal, ends it
            return ours ? withStateCleared(refused, uri) : refused;
        }
        Pending p = started.orElseThrow();
        // a state serves one answer: a replayed one (even with the cookie put back) finds it used
        boolean replayed = used.asMap().putIfAbsent(p.state(), Boolean.TRUE) != null;
        if (replayed || !p.expiresAt().isAfter(Instant.now())) {
            LOG.warnf("OIDC sign-in refused: its state was %s", replayed ? "used already" : "past its deadline");
            return withStateCleared(session.refused(400, "This sign-in was already completed, or was started more "
                    + "than " + (timeout.toSeconds() < 120 ? timeout.toSeconds() + " seconds" : timeout.toMinutes() + " minutes")
                    + " ago: start it again."), uri);
        }
        boolean signedIn = false;
        try {
            OidcProvider.Tokens tokens = provider.exchange(code, p.verifier());
            provider.verifyIdToken(tokens.idToken(), p.nonce());
            JsonWebToken access;
            try {
                access = parser.parse(tokens.accessToken());
            } catch (ParseException e) {
                LOG.warnf("OIDC sign-in refused: the access token is not accepted by the API's verification (%s)",
                        e.getClass().getSimpleName());
                return withStateCleared(session.refused(401, "The identity provider signed you in, but its access "
                        + "token is not accepted by Lifeboat: check that its issuer, audience (lifeboat) and roles "
                        + "claim match the service's LIFEBOAT_JWT_* settings."), uri);
            }
            // a 200 page that moves on by itself, not a redirect: a SameSite=Strict cookie set at the end of a
            // navigation that began at the provider is not sent on a redirect within that same navigation
            Response page = session.startSession(access, tokens.idToken(), uri.getRequestUri(),
                    Response.ok(Pages.signedIn().render(), MediaType.TEXT_HTML_TYPE));
            signedIn = page.getStatus() == 200;
            return withStateCleared(page, uri);
        } catch (OidcProvider.OidcException e) {
            LOG.warnf("OIDC sign-in refused: %s", e.getMessage());
            return withStateCleared(session.refused(e.status, e.getMessage()), uri);
        } finally {
            if (!signedIn) {
                // only sign-ins that ended in a session hold a place among the used states: answers with codes the
                // provider refused (anyone can start sign-ins and send such answers) cannot crowd them out
                used.invalidate(p.state());
            }
        }
    }

    /** The answer's shape and its binding to this browser; null when the code may be exchanged. */
    private Response check(String code, boolean ours, String error, String description) {
        // the state first: an answer that does not belong to this browser's sign-in shows nothing it carries (an
        // error text of someone else's choosing on this page) and does not end the sign-in under way
        if (!ours) {
            LOG.warn("OIDC sign-in refused: its state does not match the one this browser started");
            return session.refused(400, "This sign-in answer does not belong to a sign-in started in this browser "
                    + "(its state does not match, or the sign-in began before this service restarted): start the "
                    + "sign-in again.");
        }
        if (error != null) {
            String errorCode = OidcProvider.clip(error).replaceAll("[^A-Za-z0-9_.-]", "?");
            LOG.warnf("OIDC sign-in refused by the provider: %s", errorCode);
            return session.refused(401, "The identity provider did not sign you in (" + errorCode
                    + (description == null ? "" : ": " + OidcProvider.printable(description))
                    + ").");
        }
        if (code == null || code.isBlank() || code.length() > 4096) {
            return session.refused(400, "The identity provider's answer carries no authorization code: start the "
                    + "sign-in again.");
        }
        return null;
    }

    private Response withStateCleared(Response r, UriInfo uri) {
        r.getHeaders().add(HttpHeaders.SET_COOKIE, stateCookie("", 0, uri));
        return r;
    }

    private NewCookie stateCookie(String state, int maxAge, UriInfo uri) {
        // Lax: the browser comes back from the provider by a cross-site navigation, which Strict would not send it on
        return sessions.cookie(STATE_COOKIE, state, maxAge, "/ui/oidc", NewCookie.SameSite.LAX, uri.getRequestUri());
    }
}
