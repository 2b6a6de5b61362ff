package dev.lifeboat.storage;

import dev.lifeboat.identity.Roles;
import dev.lifeboat.identity.TokenMinter;
import dev.lifeboat.testsupport.Http;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.jwt.build.Jwt;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Roles read from the claim an identity provider puts them in: with {@code LIFEBOAT_JWT_ROLES_CLAIM} set to
 * Keycloak's {@code realm_access/roles}, a token holding lifeboat-operator there may verify backups, one holding
 * lifeboat-viewer there may not, and neither may one holding every role in a plain {@code groups} claim.
 */
@QuarkusTest
@TestProfile(RolesClaimTest.KeycloakRealmRoles.class)
@WithTestResource(StorageWorkerTestResource.class)
class RolesClaimTest {
    public static class KeycloakRealmRoles implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("LIFEBOAT_JWT_ROLES_CLAIM", "realm_access/roles");
        }
    }

    @TestHTTPResource("/")
    URL base;

    @Test
    void rolesAreReadFromTheConfiguredClaim() {
        // a malformed id: past the role check the request is refused for the id, so nothing is verified
        String url = base + "api/v1/backups/not-a-backup-id/verify";

        Http.Response operator = Http.post(url, null, Tokens.auth(realmRoles("keycloak-operator", Roles.OPERATOR)));
        assertThat(operator.status()).as(operator.body()).isEqualTo(400);
        assertThat(operator.body()).contains("must be a lower-case UUID");

        Http.Response viewer = Http.post(url, null, Tokens.auth(realmRoles("keycloak-viewer", Roles.VIEWER)));
        assertThat(viewer.status()).as(viewer.body()).isEqualTo(403);
        assertThat(viewer.body()).contains("keycloak-viewer");

        // the roles in a plain groups claim count for nothing once another claim is configured
        Http.Response groupsOnly = Http.post(url, null, Tokens.auth(Tokens.admin()));
        assertThat(groupsOnly.status()).as(groupsOnly.body()).isEqualTo(403);
    }

    /** A token as Keycloak issues it: realm roles under realm_access.roles, no groups claim. */
    private static String realmRoles(String subject, String role) {
        long now = System.currentTimeMillis() / 1000;
        return Jwt.issuer(TokenMinter.LOCAL_ISSUER).subject(subject).audience(TokenMinter.AUDIENCE)
                .claim("realm_access", Map.of("roles", List.of(role)))
                .issuedAt(now).expiresAt(now + 600)
                .jws().keyId("lifeboat-local").sign(Tokens.keys().privateKey());
    }
}
