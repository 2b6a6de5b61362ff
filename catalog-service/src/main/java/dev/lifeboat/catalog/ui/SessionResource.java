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
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.NewCookie;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.logging.Logger;

import java.net.URI;
import java.time.Instant;

/**
 * Sign-in with a bearer token: the token a person pastes is verified as the API verifies it (issuer, key, audience,
 * expiry) and kept in an HttpOnly, SameSite=Strict cookie (Secure over https) that smallrye-jwt reads on every
 * request (mp.jwt.token.cookie). The cookie lives no longer than the token. Sign-out clears it.
 */
@Path("/ui")
@Produces(MediaType.TEXT_HTML)
public class SessionResource {
    private static final Logger LOG = Logger.getLogger(SessionResource.class);
    /** Browsers keep cookies up to about 4 KB; a longer token could not be stored. */
    static final int MAX_TOKEN_LENGTH = 3800;

    private final JWTParser parser;
    private final DashboardConfig config;

    public SessionResource(JWTParser parser, DashboardConfig config) {
        this.parser = parser;
        this.config = config;
    }

    @PermitAll
    @GET
    @Path("sign-in")
    @Operation(hidden = true)
    public TemplateInstance page(@QueryParam("ended") boolean ended, @QueryParam("signedOut") boolean signedOut) {
        String message = ended ? "Your session ended: its token expired or is no longer accepted. Sign in again."
                : signedOut ? "You are signed out." : null;
        return Pages.signIn(null, message, null);
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
            return refused(400, "This token is longer than " + MAX_TOKEN_LENGTH + " characters and cannot be kept "
                    + "in a browser cookie.");
        }
        JsonWebToken jwt;
        try {
            jwt = parser.parse(token);
        } catch (ParseException e) {
            LOG.warnf("sign-in refused: the token is not accepted (%s)", e.getClass().getSimpleName());
            return refused(401, "This token is not accepted: it is malformed, expired, not for Lifeboat, or not "
                    + "signed by the configured issuer.");
        }
        if (jwt.getGroups() == null || jwt.getGroups().stream().noneMatch(Roles.ALL::contains)) {
            LOG.warnf("sign-in refused: principal '%s' holds no Lifeboat role", jwt.getName());
            return refused(403, "This token holds no Lifeboat role (" + String.join(", ", Roles.ALL) + ").");
        }
        long maxAge = Math.max(1, jwt.getExpirationTime() - Instant.now().getEpochSecond());
        LOG.infof("signed in to the dashboard: principal '%s'", jwt.getName());
        return Response.seeOther(URI.create("/ui"))
                .cookie(cookie(config.cookie(), token, (int) Math.min(Integer.MAX_VALUE, maxAge), uri.getRequestUri()))
                .build();
    }

    @PermitAll
    @POST
    @Path("sign-out")
    @Operation(hidden = true)
    public Response signOut(@Context UriInfo uri) {
        return Response.seeOther(URI.create("/ui/sign-in?signedOut=true"))
                .cookie(clear(config.cookie(), uri.getRequestUri())).build();
    }

    private static Response refused(int status, String error) {
        return Response.status(status).type(MediaType.TEXT_HTML_TYPE)
                .entity(Pages.signIn(null, null, error).render()).build();
    }

    static NewCookie cookie(String name, String value, int maxAge, URI request) {
        // sent to the dashboard's own paths only: not to the API, and not to other services on another port of this
        // host (cookies do not tell ports apart), which all live outside /ui
        return new NewCookie.Builder(name).value(value).path("/ui").maxAge(maxAge).httpOnly(true)
                .sameSite(NewCookie.SameSite.STRICT).secure("https".equalsIgnoreCase(request.getScheme())).build();
    }

    static NewCookie clear(String name, URI request) {
        return cookie(name, "", 0, request);
    }
}
