package dev.lifeboat.kit.security;

import dev.lifeboat.kit.rest.Problem;
import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.ForbiddenException;
import io.quarkus.security.UnauthorizedException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.security.Principal;

/**
 * 401 and 403 as RFC 9457 problems, and one log line per denied request: method, path, outcome, and who (the token's
 * subject for a 403; nothing of the token itself). Authentication is not proactive
 * ({@code quarkus.http.auth.proactive=false}) so that these failures reach JAX-RS mappers instead of an empty
 * Vert.x answer.
 */
public class AccessDeniedMappers {
    private static final Logger LOG = Logger.getLogger("dev.lifeboat.security.denied");

    @ServerExceptionMapper
    public Response unauthenticated(UnauthorizedException e, ContainerRequestContext request) {
        boolean sentToken = request.getHeaderString(HttpHeaders.AUTHORIZATION) != null;
        return unauthorized(request, sentToken ? "the bearer token was not accepted" : "no bearer token");
    }

    @ServerExceptionMapper
    public Response invalidToken(AuthenticationFailedException e, ContainerRequestContext request) {
        return unauthorized(request, "the bearer token is invalid, expired, or not signed by the configured issuer");
    }

    @ServerExceptionMapper
    public Response forbidden(ForbiddenException e, ContainerRequestContext request) {
        Principal who = request.getSecurityContext().getUserPrincipal();
        String name = who == null ? "anonymous" : who.getName();
        LOG.warnf("denied %s %s: 403, principal '%s' lacks the role this operation needs", request.getMethod(),
                loggedPath(request), name);
        Problem p = new Problem("about:blank", "Forbidden", 403, "principal '" + name
                + "' does not hold a role that may perform this operation", request.getUriInfo().getPath(), null);
        return Response.status(403).type(Problem.MEDIA_TYPE).entity(p).build();
    }

    /**
     * The request's path for a log line, as it was sent (percent-encoded): decoded, a path holding {@code %0A} would
     * let anyone, without a token, write lines of their own choosing into the audit log.
     */
    public static String loggedPath(ContainerRequestContext request) {
        return request.getUriInfo().getRequestUri().getRawPath();
    }

    private static Response unauthorized(ContainerRequestContext request, String reason) {
        LOG.warnf("denied %s %s: 401, %s", request.getMethod(), loggedPath(request), reason);
        Problem p = new Problem("about:blank", "Unauthorized", 401, reason
                + "; send Authorization: Bearer <token> issued by the configured identity provider",
                request.getUriInfo().getPath(), null);
        return Response.status(401).header(HttpHeaders.WWW_AUTHENTICATE, "Bearer").type(Problem.MEDIA_TYPE)
                .entity(p).build();
    }
}
