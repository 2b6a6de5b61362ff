package dev.lifeboat.kit.security;

import io.quarkus.security.identity.AuthenticationRequestContext;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.identity.SecurityIdentityAugmentor;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.json.JsonArray;
import jakarta.json.JsonObject;
import jakarta.json.JsonString;
import jakarta.json.JsonValue;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.jwt.JsonWebToken;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Roles from the configured claim only ({@code smallrye.jwt.path.groups}, set by LIFEBOAT_JWT_ROLES_CLAIM). smallrye-jwt
 * reads the roles at that path when the token has it, but keeps a plain {@code groups} claim when it has not: a
 * deployment taking roles from Keycloak's {@code realm_access/roles} would also grant whatever group names a provider
 * puts in {@code groups}. With a path other than {@code groups}, the identity's roles are what that path holds, none
 * when the token lacks it.
 */
@ApplicationScoped
public class RolesFromConfiguredClaim implements SecurityIdentityAugmentor {
    private final List<String> path;

    public RolesFromConfiguredClaim(@ConfigProperty(name = "smallrye.jwt.path.groups", defaultValue = "groups")
                                    String path) {
        this.path = segments(path);
    }

    @Override
    public Uni<SecurityIdentity> augment(SecurityIdentity identity, AuthenticationRequestContext context) {
        if (identity.isAnonymous() || path.equals(List.of("groups"))
                || !(identity.getPrincipal() instanceof JsonWebToken jwt)) {
            return Uni.createFrom().item(identity);
        }
        Set<String> roles = rolesAt(jwt);
        if (roles.equals(identity.getRoles())) {
            return Uni.createFrom().item(identity);
        }
        return Uni.createFrom().item(QuarkusSecurityIdentity.builder().setPrincipal(identity.getPrincipal())
                .setAnonymous(false).addCredentials(identity.getCredentials())
                .addAttributes(identity.getAttributes()).addRoles(roles).build());
    }

    private Set<String> rolesAt(JsonWebToken jwt) {
        Object node = jwt.getClaim(path.getFirst());
        for (String segment : path.subList(1, path.size())) {
            node = node instanceof JsonObject o ? o.get(segment) : node instanceof java.util.Map<?, ?> m ? m.get(segment) : null;
        }
        Set<String> roles = new LinkedHashSet<>();
        if (node instanceof JsonArray array) {
            for (JsonValue v : array) {
                if (v instanceof JsonString s) {
                    roles.add(s.getString());
                }
            }
        } else if (node instanceof Iterable<?> values) {
            values.forEach(v -> roles.add(v instanceof JsonString s ? s.getString() : String.valueOf(v)));
        } else if (node instanceof JsonString s) {
            roles.addAll(List.of(s.getString().trim().split("\\s+")));
        } else if (node instanceof String s) {
            roles.addAll(List.of(s.trim().split("\\s+")));
        }
        roles.remove("");
        return roles;
    }

    /** {@code a/b/c}, a segment in double quotes holding '/' (a namespaced claim such as {@code "https://x/roles"}). */
    static List<String> segments(String path) {
        List<String> out = new ArrayList<>();
        StringBuilder segment = new StringBuilder();
        boolean quoted = false;
        for (char c : path.trim().toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            } else if (c == '/' && !quoted) {
                out.add(segment.toString());
                segment.setLength(0);
            } else {
                segment.append(c);
            }
        }
        out.add(segment.toString());
        return List.copyOf(out);
    }
}
