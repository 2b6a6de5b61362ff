package dev.lifeboat.catalog.ui;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.lifeboat.identity.Roles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.core.NewCookie;
import org.eclipse.microprofile.jwt.JsonWebToken;

import java.net.URI;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The dashboard's sessions, held in this service's memory: the browser's cookie carries only a random id (256 bits),
 * the bearer token stays here. A session ends when its token expires, on sign-out, or when more than
 * {@code lifeboat.ui.max-sessions} are held (the least used go first); a restart ends them all.
 */
@ApplicationScoped
public class DashboardSessions {
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * A signed-in person's session: the bearer token the API verifies on every request, and for a sign-in through the
     * provider its ID token (for the provider's sign-out).
     */
    public record Session(String token, String idToken, Instant expiresAt) {
        @Override
        public String toString() {
            return "Session[expiresAt=" + expiresAt + "]";
        }
    }

    private final Cache<String, Session> sessions;
    private final DashboardConfig config;

    public DashboardSessions(DashboardConfig config) {
        this.config = config;
        this.sessions = Caffeine.newBuilder().maximumSize(config.maxSessions())
                .expireAfter(new Expiry<String, Session>() {
                    @Override
                    public long expireAfterCreate(String id, Session s, long now) {
                        return TimeUnit.MILLISECONDS.toNanos(Math.max(0, s.expiresAt().toEpochMilli()
                                - System.currentTimeMillis()));
                    }

                    @Override
                    public long expireAfterUpdate(String id, Session s, long now, long remaining) {
                        return expireAfterCreate(id, s, now);
                    }

                    @Override
                    public long expireAfterRead(String id, Session s, long now, long remaining) {
                        return remaining;
                    }
                }).build();
    }

    /**
     * Keeps a session for a token the API accepts (verified by the caller) and returns its id, the session cookie's
     * value; empty when the token holds no Lifeboat role. It lasts as long as the token.
     */
    public Optional<String> open(JsonWebToken token, String idToken) {
        if (token.getGroups() == null || token.getGroups().stream().noneMatch(Roles.ALL::contains)) {
            return Optional.empty();
        }
        String id = randomId();
        sessions.put(id, new Session(token.getRawToken(), idToken, Instant.ofEpochSecond(token.getExpirationTime())));
        return Optional.of(id);
    }

    /** The live session of that id; empty when unknown, ended or expired. */
    public Optional<Session> find(String id) {
        if (id == null || id.isEmpty() || id.length() > 64) {
            return Optional.empty();
        }
        Session s = sessions.getIfPresent(id);
        return s == null || !s.expiresAt().isAfter(Instant.now()) ? Optional.empty() : Optional.of(s);
    }

    /** Ends the session of that id; returns it when there was one. */
    public Optional<Session> end(String id) {
        return id == null ? Optional.empty() : Optional.ofNullable(sessions.asMap().remove(id));
    }

    /** 256 random bits, base64url: a session id, a sign-in's state, nonce or PKCE verifier. */
    static String randomId() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /**
     * Whether cookies must be Secure: the request came over https, or the configured external URL is https (a proxy
     * in front may speak http to this service).
     */
    boolean secure(URI request) {
        return "https".equalsIgnoreCase(request.getScheme())
                || config.externalUrl().map(u -> "https".equalsIgnoreCase(u.getScheme())).orElse(false);
    }

    /** The session cookie: HttpOnly, SameSite=Strict, sent to the dashboard's paths only. */
    NewCookie cookie(String id, int maxAge, URI request) {
        return cookie(config.cookie(), id, maxAge, "/ui", NewCookie.SameSite.STRICT, request);
    }

    /** Tells the browser to drop the session cookie. */
    NewCookie clear(URI request) {
        return cookie("", 0, request);
    }

    /**
     * A cookie page scripts cannot read (HttpOnly), sent to {@code path} only: never to the API, nor to the other
     * services on another port of this host (cookies do not tell ports apart), which all live outside /ui.
     */
    NewCookie cookie(String name, String value, int maxAge, String path, NewCookie.SameSite sameSite, URI request) {
        return new NewCookie.Builder(name).value(value).path(path).maxAge(maxAge).httpOnly(true).sameSite(sameSite)
                .secure(secure(request)).build();
    }
}
