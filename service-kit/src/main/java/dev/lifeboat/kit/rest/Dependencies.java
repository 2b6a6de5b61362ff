package dev.lifeboat.kit.rest;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.ConfigProvider;

import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tells a failure of the service's own database apart from one of another server, so an error answer can name what
 * is away. The reactive PostgreSQL client reports a refused connection as a plain network error naming only the
 * address, so the datasource's configured addresses are matched too.
 */
@ApplicationScoped
public class Dependencies {
    private static final Pattern HOST_PORT = Pattern.compile("//(?:[^@/]*@)?([^/:?]+)(?::(\\d+))?");
    private static final Pattern ADDRESS = Pattern.compile("[\\w.\\-\\]/]+:\\d{2,5}\\b");
    private static final int SUMMARY_LIMIT = 200;

    private final Set<String> databaseAddresses;

    public Dependencies() {
        this(configuredDatabaseAddresses());
    }

    /** {@code databaseAddresses}: {@code host:port} of the service's PostgreSQL. */
    Dependencies(Set<String> databaseAddresses) {
        this.databaseAddresses = Set.copyOf(databaseAddresses);
    }

    private static Set<String> configuredDatabaseAddresses() {
        Set<String> addresses = new LinkedHashSet<>();
        for (String key : new String[] {"quarkus.datasource.jdbc.url", "quarkus.datasource.reactive.url"}) {
            Optional<String> url = ConfigProvider.getConfig().getOptionalValue(key, String.class);
            url.map(HOST_PORT::matcher).filter(Matcher::find).ifPresent(m ->
                    addresses.add(m.group(1) + ":" + (m.group(2) == null ? "5432" : m.group(2))));
        }
        return addresses;
    }

    /** Whether a failure comes from the service's PostgreSQL: its drivers' errors or a connection to its address. */
    public boolean isDatabase(Throwable error) {
        int depth = 0;
        for (Throwable t = error; t != null && depth < 32; t = t.getCause() == t ? null : t.getCause(), depth++) {
            String name = t.getClass().getName();
            if (t instanceof java.sql.SQLException || name.startsWith("io.vertx.pgclient.")
                    || name.startsWith("io.vertx.sqlclient.") || name.startsWith("org.hibernate.")
                    || name.startsWith("io.agroal.")) {
                return true;
            }
            String message = t.getMessage();
            if (message != null && databaseAddresses.stream().anyMatch(a -> names(message, a))) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@link #summary} of a failure of this service's database, led by the database's configured address when the
     * failure does not name one (a connection the server ended while shutting down says only why).
     */
    public String databaseSummary(Throwable error) {
        String summary = summary(error);
        if (ADDRESS.matcher(summary).find() || databaseAddresses.isEmpty()) {
            return summary;
        }
        return String.join(", ", databaseAddresses) + ": " + summary;
    }

    /** Netty writes "host/ip:port", the JDBC driver "host:port": the host and the port are matched apart. */
    private static boolean names(String message, String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        String host = hostPort.substring(0, colon);
        String port = hostPort.substring(colon + 1);
        return message.contains(host) && Pattern.compile(":" + port + "(?!\\d)").matcher(message).find();
    }

    /**
     * The deepest message on the cause chain that names an address (host:port), kept short: the innermost cause often
     * says only "Connection refused" where a wrapper names the server; without an address, the innermost message.
     */
    static String summary(Throwable error) {
        String deepest = null;
        String withAddress = null;
        int depth = 0;
        for (Throwable t = error; t != null && depth < 32; t = t.getCause() == t ? null : t.getCause(), depth++) {
            String m = t.getMessage();
            if (m != null && !m.isBlank()) {
                deepest = m;
                if (ADDRESS.matcher(m).find()) {
                    withAddress = m;
                }
            }
        }
        String message = withAddress != null ? withAddress : deepest != null ? deepest
                : error.getClass().getSimpleName();
        return message.length() > SUMMARY_LIMIT ? message.substring(0, SUMMARY_LIMIT) + "..." : message;
    }
}
