package dev.lifeboat.catalog.ui;

import dev.lifeboat.identity.Roles;
import io.quarkus.qute.TemplateInstance;
import io.smallrye.jwt.auth.principal.JWTParser;
import io.smallrye.jwt.auth.principal.ParseException;
import jakarta.annotation.security.PermitAll;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.FormParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Cookie;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.logging.Logger;

import java.net.URI;
import java.time.Instant;
import java.util.Optional;

/**
 * Sign-in with a bearer token: the token a person pastes is verified as the API verifies it (issuer, key, audience,
 * expiry) and kept in a server-side session ({@link DashboardSessions}) whose random id goes into an HttpOnly,
 * SameSite=Strict cookie (Secure over https). The session lives no longer than the token. Sign-out ends it, and for a
 * sign-in through the OIDC provider continues to the provider's own sign-out where it offers one.
 */
@Path("/ui")
@Produces(MediaType.TEXT_HTML)
public class SessionResource {
    private static final Logger LOG = Logger.getLogger(SessionResource.class);
    static final String SIGNED_OUT = "/ui/signed-out";
    /** Longer than any provider's token; a bound on what a hostile form post makes this service parse. */
    static final int MAX_TOKEN_LENGTH = 16_384;

    private final JWTParser parser;
    private final DashboardConfig config;
    private final DashboardSessions sessions;
    private final OidcProvider oidc;

    public SessionResource(JWTParser parser, DashboardConfig config, DashboardSessions sessions, OidcProvider oidc) {
        this.parser = parser;
        this.config = config;
        this.sessions = sessions;
        this.oidc = oidc;
    }

    @PermitAll
    @GET
    @Path("sign-in")
    @Operation(hidden = true)
    public TemplateInstance page(@QueryParam("ended") boolean ended) {
        return Pages.signIn(null, ended ? "Your session ended: its token expired or is no longer accepted. Sign in "
                + "again." : null, null, oidc.name());
    }

    /**
     * Where sign-out ends, also on the way back from the provider's sign-out (a path without a query: providers
     * match post-logout redirect URIs exactly).
     */
    @PermitAll
    @GET
    @Path("signed-out")
    @Operation(hidden = true)
    public TemplateInstance signedOut() {
        return Pages.signIn(null, "You are signed out.", null, oidc.name());
    }

    @PermitAll
    @POST
    @Path("sign-in")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Response signIn(@FormParam("token") String pasted, @Context UriInfo uri) {
        String token = pasted == null ? "" : pasted.strip();
        if (token.regionMatches(true, 0, "Bearer ", 0, 7)) {
            token = token.substring(7).strip();
        }
        if (token.isEmpty()) {
            return refused(400, "Paste a bearer token (./lifeboat tokens prints local ones).");
        }
        if (token.length() > MAX_TOKEN_LENGTH) {
            return refused(400, "This token is longer than " + MAX_TOKEN_LENGTH + " characters; no token for "
                    + "Lifeboat is.");
        }
        JsonWebToken jwt;
        try {
            jwt = parser.parse(token);
        } catch (ParseException e) {
            LOG.warnf("sign-in refused: the token is not accepted (%s)", e.getClass().getSimpleName());
            return refused(401, "This token is not accepted: it is malformed, expired, not for Lifeboat, or not "
                    + "signed by the configured issuer.");
        }
        return startSession(jwt, null, uri.getRequestUri(), Response.seeOther(URI.create("/ui")));
    }

    @PermitAll
    @POST
    @Path("sign-out")
    @Operation(hidden = true)
    public Response signOut(@Context UriInfo uri, @Context HttpHeaders headers) {
        Cookie cookie = headers.getCookies().get(config.cookie());
        Optional<DashboardSessions.Session> ended = sessions.end(cookie == null ? null : cookie.getValue());
        URI next = ended.map(DashboardSessions.Session::idToken).flatMap(oidc::endSession)
                .orElse(URI.create(SIGNED_OUT));
        return Response.seeOther(next).cookie(sessions.clear(uri.getRequestUri())).build();
    }

    /**
     * Opens a session for a token the API accepts and answers with its cookie; refuses (403) a token that holds no
     * Lifeboat role. {@code idToken}: the provider's ID token of a sign-in through it, else null.
     */
    Response startSession(JsonWebToken jwt, String idToken, URI request, Response.ResponseBuilder answer) {
        Optional<String> id = sessions.open(jwt, idToken);
        if (id.isEmpty()) {
            LOG.warnf("sign-in refused: principal '%s' holds no Lifeboat role", jwt.getName());
            return refused(403, "This sign-in holds no Lifeboat role (" + String.join(", ", Roles.ALL) + "): ask "
                    + "for one at your identity provider.");
        }
        long maxAge = Math.max(1, jwt.getExpirationTime() - Instant.now().getEpochSecond());
        LOG.infof("signed in to the dashboard: principal '%s'%s", jwt.getName(),
                idToken == null ? " (token)" : " (through the identity provider)");
        return answer.cookie(sessions.cookie(id.get(), (int) Math.min(Integer.MAX_VALUE, maxAge), request)).build();
    }

    /** The sign-in page with what went wrong, answered with that status. */
    Response refused(int status, String error) {
        return Response.status(status).type(MediaType.TEXT_HTML_TYPE)
                .entity(Pages.signIn(null, null, error, oidc.name()).render()).build();
    }
}
