package dev.lifeboat.kit.security;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RolesFromConfiguredClaimTest {
    @Test
    void aClaimPathSplitsAtSlashesOutsideQuotes() {
        assertThat(RolesFromConfiguredClaim.segments("groups")).isEqualTo(List.of("groups"));
        assertThat(RolesFromConfiguredClaim.segments("realm_access/roles")).isEqualTo(List.of("realm_access", "roles"));
        assertThat(RolesFromConfiguredClaim.segments("\"https://idp.example/claims/roles\""))
                .isEqualTo(List.of("https://idp.example/claims/roles"));
        assertThat(RolesFromConfiguredClaim.segments("resource_access/\"lifeboat/api\"/roles"))
                .isEqualTo(List.of("resource_access", "lifeboat/api", "roles"));
    }
}
