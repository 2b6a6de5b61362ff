package dev.lifeboat.recovery.service;

import dev.lifeboat.recovery.config.CoordinatorConfig;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Which URLs RestartServices and NotifyStakeholders may call: http(s) URLs without user info that fall under an
 * entry of {@code lifeboat.recovery.url-allowlist} (same scheme, host and port, path under the entry's path), and
 * never one of the platform's own services (same port on a host that is, or resolves to, a platform host), so a
 * plan cannot turn the coordinator against the platform's own APIs. Checked when a plan is written and again
 * right before each call (a name may resolve elsewhere by then).
 */
@ApplicationScoped
public class UrlPolicy {
    public static final String ALLOWLIST_KEY = "lifeboat.recovery.url-allowlist";

    /** scheme://host:port/path, the port made explicit and the path ending in '/' (or empty). */
    record Prefix(String scheme, String host, int port, String path) {
        @Override
        public String toString() {
            return scheme + "://" + host + ":" + port + path;
        }
    }

    private final List<Prefix> allowed;
    private final List<Prefix> platform;

    public UrlPolicy(CoordinatorConfig config, @ConfigProperty(name = "quarkus.http.port") int ownPort,
                     @ConfigProperty(name = "quarkus.http.host", defaultValue = "127.0.0.1") String ownHost) {
        this.allowed = config.urlAllowlist().orElse(List.of()).stream().map(String::trim).filter(s -> !s.isEmpty())
                .map(UrlPolicy::prefix).toList();
        List<Prefix> p = new ArrayList<>(config.platformUrls().stream().map(String::trim).filter(s -> !s.isEmpty())
                .map(UrlPolicy::prefix).toList());
        p.add(prefix(config.schedulerUrl()));
        if (ownPort > 0) {
            p.add(new Prefix("http", ownHost, ownPort, ""));
        }
        this.platform = List.copyOf(p);
    }

    /** Why {@code url} may not be called, or empty when it may. */
    public Optional<String> problem(String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException | NullPointerException e) {
            return Optional.of("'" + url + "' is not a valid URL");
        }
        String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!"http".equals(scheme) && !"https".equals(scheme) || uri.getHost() == null) {
            return Optional.of("'" + url + "' is not an http(s) URL with a host");
        }
        if (uri.getRawUserInfo() != null) {
            return Optional.of("'" + redact(uri) + "' carries user info; credentials do not belong in plan URLs");
        }
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        if (Arrays.stream(path.split("/", -1)).anyMatch(s -> s.equals(".") || s.equals("..")
                || s.equalsIgnoreCase("%2e") || s.equalsIgnoreCase("%2e%2e") || s.equalsIgnoreCase(".%2e")
                || s.equalsIgnoreCase("%2e."))) {
            return Optional.of("'" + url + "' has '.' or '..' path segments");
        }
        String lower = path.toLowerCase(Locale.ROOT);
        if (lower.contains("%2f") || lower.contains("%5c") || lower.contains("\\") || path.contains(";")) {
            // servers that decode an encoded slash before routing, or read '..;' as '..', would leave the prefix
            return Optional.of("'" + url + "' has an encoded slash or backslash, a backslash or a ';' in its path");
        }
        int port = port(scheme, uri.getPort());
        String host = uri.getHost().toLowerCase(Locale.ROOT);
        for (Prefix p : platform) {
            if (p.port() == port && sameHost(host, p.host())) {
                return Optional.of("'" + url + "' is an API of the platform itself (" + p.host() + ":" + p.port()
                        + "); plans may not call it, whatever the allowlist says");
            }
        }
        if (allowed.isEmpty()) {
            return Optional.of("'" + url + "' is not allowed: " + ALLOWLIST_KEY + " is empty, so plans may call no "
                    + "URL (an admin lists the allowed prefixes, e.g. https://ops.example.com:443/hooks/)");
        }
        for (Prefix a : allowed) {
            if (a.scheme().equals(scheme) && a.host().equals(host) && a.port() == port
                    && (a.path().isEmpty() || (path + "/").startsWith(a.path()))) {
                return Optional.empty();
            }
        }
        return Optional.of("'" + url + "' is not under any prefix of " + ALLOWLIST_KEY + " " + allowed);
    }

    private static Prefix prefix(String entry) {
        URI uri = URI.create(entry.trim());
        String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!"http".equals(scheme) && !"https".equals(scheme) || uri.getHost() == null || uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("URL prefix '" + entry + "' must be http(s)://host[:port][/path] "
                    + "without user info");
        }
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        if (!path.isEmpty() && !path.endsWith("/")) {
            path = path + "/";
        }
        return new Prefix(scheme, uri.getHost().toLowerCase(Locale.ROOT), port(scheme, uri.getPort()),
                path.equals("/") ? "" : path);
    }

    private static int port(String scheme, int port) {
        return port > 0 ? port : "https".equals(scheme) ? 443 : 80;
    }

    /** Equal names, or a shared address, or both on this machine (loopback or the wildcard address). */
    private static boolean sameHost(String a, String b) {
        if (a.equalsIgnoreCase(b)) {
            return true;
        }
        try {
            InetAddress[] xs = InetAddress.getAllByName(strip(a));
            InetAddress[] ys = InetAddress.getAllByName(strip(b));
            for (InetAddress x : xs) {
                for (InetAddress y : ys) {
                    if (x.equals(y) || (local(x) && local(y))) {
                        return true;
                    }
                }
            }
            return false;
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static boolean local(InetAddress a) {
        return a.isLoopbackAddress() || a.isAnyLocalAddress();
    }

    private static String strip(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static String redact(URI uri) {
        return uri.getScheme() + "://***@" + uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "")
                + (uri.getRawPath() == null ? "" : uri.getRawPath());
    }
}
