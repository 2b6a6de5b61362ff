package dev.lifeboat.kit.security;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.ext.Provider;
import org.jboss.logging.Logger;

import java.security.Principal;

/**
 * One audit line per request that may change something (every method but GET, HEAD and OPTIONS): who, what, the
 * outcome. Denials are logged by {@link AccessDeniedMappers}; this records what was let through.
 */
@Provider
public class AuditLog implements ContainerResponseFilter {
    private static final Logger LOG = Logger.getLogger("dev.lifeboat.security.audit");

    @Override
    public void filter(ContainerRequestContext request, ContainerResponseContext response) {
        String method = request.getMethod();
        if (method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS")) {
            return;
        }
        int status = response.getStatus();
        if (status == 401 || status == 403) {
            return;
        }
        Principal who = request.getSecurityContext().getUserPrincipal();
        LOG.infof("audit: principal '%s' %s %s -> %d", who == null ? "anonymous" : who.getName(), method,
                AccessDeniedMappers.loggedPath(request), status);
    }
}
