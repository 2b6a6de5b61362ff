package dev.lifeboat.catalog.ui;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class DashboardSessionsTest {
    private static DashboardConfig config(String externalUrl) {
        return new DashboardConfig() {
            public Optional<String> zipkinUrl() { return Optional.empty(); }
            public String cookie() { return "lifeboat_session"; }
            public Optional<URI> externalUrl() { return Optional.ofNullable(externalUrl).map(URI::create); }
            public int maxSessions() { return 10; }
            public Oidc oidc() { return null; }
        };
    }

    @Test
    void cookiesAreSecureOverHttpsOrWhenTheExternalUrlIsHttps() {
        URI plain = URI.create("http://10.0.0.5:8085/ui/sign-in");
        assertThat(new DashboardSessions(config(null)).secure(URI.create("https://lifeboat.example/ui"))).isTrue();
        assertThat(new DashboardSessions(config(null)).secure(plain)).isFalse();
        // TLS ends at a proxy in front, which speaks http to the service
        assertThat(new DashboardSessions(config("https://lifeboat.example.com")).secure(plain)).isTrue();
        assertThat(new DashboardSessions(config("https://lifeboat.example.com")).cookie("id", 60, plain).isSecure())
                .isTrue();
        assertThat(new DashboardSessions(config("http://127.0.0.1:8085")).secure(plain)).isFalse();
    }

    @Test
    void sessionIdsAreRandomAndUnknownOnesOpenNothing() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            ids.add(DashboardSessions.randomId());
        }
        assertThat(ids).hasSize(1000).allSatisfy(id -> assertThat(id).matches("[A-Za-z0-9_-]{43}"));
        DashboardSessions sessions = new DashboardSessions(config(null));
        assertThat(sessions.find(DashboardSessions.randomId())).isEmpty();
        assertThat(sessions.find("x".repeat(10_000))).isEmpty();
        assertThat(sessions.find(null)).isEmpty();
        assertThat(sessions.end(null)).isEmpty();
    }
}
