package dev.lifeboat.catalog.ui;

import io.vertx.core.http.Cookie;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * Turns the dashboard's session cookie into the bearer token it stands for, before anything authenticates the
 * request: the session's token goes into the request's Authorization header, which smallrye-jwt verifies as it
 * verifies any API client's (issuer, key, audience, expiry, roles). A request that brings its own Authorization header
 * keeps it; a cookie that names no live session adds nothing (the page then answers "session ended"). Only on the
 * dashboard's own paths ({@code /ui}), where browsers send the cookie: the API takes bearer tokens only, so a cookie
 * sent there by hand (browsers never do) authorizes nothing.
 */
@ApplicationScoped
public class SessionAuthorization {
    /** Before Quarkus' own security handlers, which run at small negative orders. */
    private static final int ORDER = -10_000;

    private final DashboardSessions sessions;
    private final DashboardConfig config;

    public SessionAuthorization(DashboardSessions sessions, DashboardConfig config) {
        this.sessions = sessions;
        this.config = config;
    }

    void install(@Observes Router router) {
        router.route().order(ORDER).handler(this::authorize);
    }

    void authorize(RoutingContext rc) {
        String path = rc.normalizedPath();
        Cookie cookie = path.equals("/ui") || path.startsWith("/ui/") ? rc.request().getCookie(config.cookie()) : null;
        if (cookie != null && rc.request().getHeader(HttpHeaders.AUTHORIZATION) == null) {
            sessions.find(cookie.getValue()).ifPresent(s ->
                    rc.request().headers().set(HttpHeaders.AUTHORIZATION, "Bearer " + s.token()));
        }
        rc.next();
    }
}
