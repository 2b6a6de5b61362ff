package dev.lifeboat.kit.security;

import io.quarkus.security.identity.SecurityIdentity;
import jakarta.enterprise.context.RequestScoped;
import jakarta.inject.Inject;

/**
 * Who is acting on this request: the bearer token's subject ({@code sub}, which smallrye-jwt makes the principal's
 * name when there is no {@code upn} or {@code preferred_username}). Recorded with everything a request causes;
 * never taken from a request body.
 */
@RequestScoped
public class Actor {
    @Inject
    SecurityIdentity identity;

    public String name() {
        if (identity == null || identity.isAnonymous()) {
            throw new IllegalStateException("no authenticated principal on this request");
        }
        return identity.getPrincipal().getName();
    }

    public boolean hasRole(String role) {
        return identity != null && identity.hasRole(role);
    }
}
