package dev.lifeboat.catalog.ui;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import org.jboss.resteasy.reactive.server.ServerResponseFilter;

import java.net.URI;
import java.util.Optional;

/**
 * The dashboard's defences around its cookie session. A POST under /ui (sign-in, sign-out, actions), and any request
 * other than GET, HEAD or OPTIONS that carries the session cookie, must come from a page of this same origin: its Origin header (or, lacking one, its Referer) must name the host the request was sent
 * to; together with the SameSite=Strict cookie this refuses cross-site request forgery. Every page is sent with a
 * content security policy that allows only this origin's scripts, styles and connections, and is never cached.
 */
public class SameOriginFilter {
    private static final Logger LOG = Logger.getLogger("dev.lifeboat.security.denied");
    static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

    private static final java.util.Set<String> SAFE_METHODS = java.util.Set.of("GET", "HEAD", "OPTIONS");

    @ConfigProperty(name = "lifeboat.ui.cookie")
    String cookie;

    @ServerRequestFilter(preMatching = true)
    public Optional<Response> sameOrigin(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        boolean ui = path.equals("/ui") || path.startsWith("/ui/");
        // the session cookie authenticates the API too: any request that changes something and carries it, or
        // any such request to the dashboard, must come from this origin
        if (SAFE_METHODS.contains(request.getMethod()) || !(ui || request.getCookies().containsKey(cookie))) {
            return Optional.empty();
        }
        String host = request.getHeaderString(HttpHeaders.HOST);
        if (host == null) {
            // HTTP/2 names the host in the :authority pseudo-header, not in Host
            host = request.getUriInfo().getRequestUri().getRawAuthority();
        }
        host = host == null ? null : host.toLowerCase(java.util.Locale.ROOT);
        String origin = origin(request.getHeaderString("Origin"));
        if (origin == null) {
            origin = origin(request.getHeaderString("Referer"));
        }
        if (host != null && origin != null && (origin.equals("http://" + host) || origin.equals("https://" + host))) {
            return Optional.empty();
        }
        LOG.warnf("denied %s %s: 403, cross-origin or without Origin/Referer (origin %s, host %s)",
                request.getMethod(), dev.lifeboat.kit.security.AccessDeniedMappers.loggedPath(request), origin, host);
        return Optional.of(Response.status(403).type(MediaType.TEXT_PLAIN_TYPE)
                .entity("Refused: this request did not come from a Lifeboat dashboard page of this host.").build());
    }

    @ServerResponseFilter
    public void pageHeaders(ContainerRequestContext request, ContainerResponseContext response) {
        String path = request.getUriInfo().getPath();
        if (path.equals("/ui") || path.startsWith("/ui/")) {
            response.getHeaders().putSingle("Content-Security-Policy", CSP);
            response.getHeaders().putSingle("X-Content-Type-Options", "nosniff");
            response.getHeaders().putSingle("Referrer-Policy", "same-origin");
            response.getHeaders().putSingle(HttpHeaders.CACHE_CONTROL, "no-store");
        }
    }

    /** scheme://host[:port] of a URL, lower-case; null when absent or not a URL. */
    static String origin(String url) {
        if (url == null || url.isBlank() || "null".equals(url)) {
            return null;
        }
        try {
            URI u = URI.create(url.strip());
            if (u.getScheme() == null || u.getRawAuthority() == null) {
                return null;
            }
            return (u.getScheme() + "://" + u.getRawAuthority()).toLowerCase(java.util.Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
