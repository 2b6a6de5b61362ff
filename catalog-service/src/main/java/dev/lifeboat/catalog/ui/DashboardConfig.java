package dev.lifeboat.catalog.ui;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.util.Optional;

/** The web dashboard ({@code lifeboat.ui.*}). */
@ConfigMapping(prefix = "lifeboat.ui")
public interface DashboardConfig {
    /** Zipkin's web UI (e.g. http://127.0.0.1:9411): a run page links to its trace there; absent: no link. */
    Optional<String> zipkinUrl();

    /**
     * The cookie that holds the signed-in person's token; must equal {@code mp.jwt.token.cookie}, which lets
     * smallrye-jwt read the token from it.
     */
    @WithDefault("lifeboat_session")
    String cookie();
}
