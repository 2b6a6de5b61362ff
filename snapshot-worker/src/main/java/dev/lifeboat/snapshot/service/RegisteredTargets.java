package dev.lifeboat.snapshot.service;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.WebApplicationException;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.rest.client.inject.RestClient;

import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.kit.pg.SslMode;
import dev.lifeboat.kit.retry.Transience;
import dev.lifeboat.kit.secrets.SecretPolicy;
import dev.lifeboat.snapshot.client.CoordinatorClient;
import dev.lifeboat.snapshot.domain.CommandFailure;

/**
 * The target server a recovery command names, as an admin registered it in recovery-coordinator. The commands topic
 * is written by the coordinator alone, but a holder of its Kafka credentials could name any host and any password
 * reference the worker can resolve (the sources' own included), so the worker trusts the registration, not the
 * command: host, port, user and passwordRef must be the registered ones, and the database one the target's pattern
 * allows and the coordinator's own name rule accepts (the rules PlanValidator and TargetService apply when plans and
 * targets are written). A registration the worker cannot read now (the coordinator away, 5xx, timed out) is
 * transient: the command is retried under the platform's retry policy, then answered FAILED with the reason.
 */
@ApplicationScoped
public class RegisteredTargets {
    /** Target names as recovery-coordinator's TargetService accepts them. */
    private static final Pattern SERVER = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

    @Inject
    @RestClient
    CoordinatorClient coordinator;
    @Inject
    SecretPolicy secrets;

    @ConfigProperty(name = "quarkus.rest-client.coordinator.url")
    String coordinatorUrl;

    /** The registry could not be read now; the same command later may pass. */
    static final class RegistryUnavailable extends RuntimeException
            implements dev.lifeboat.kit.retry.TransientFailure {
        RegistryUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The registered target of {@code commanded}, for {@code action} ("restore into", "drop", "verify"): the same
     * values, taken from the registration. A {@link CommandFailure} naming every difference otherwise.
     */
    public DatabaseTarget check(DatabaseTarget commanded, String action) {
        if (commanded == null) {
            throw new CommandFailure("the command names no target database to " + action);
        }
        String server = commanded.server();
        if (server == null || server.isBlank()) {
            throw new CommandFailure("refusing to " + action + " " + commanded.describe() + ": the command names no "
                    + "registered target server (target.server); snapshot-worker acts only on target servers "
                    + "registered in recovery-coordinator (PUT /api/v1/targets/{name}). A coordinator older than this "
                    + "worker sends none: upgrade recovery-coordinator");
        }
        if (!SERVER.matcher(server).matches()) {
            throw new CommandFailure("refusing to " + action + " " + commanded.describe() + ": '"
                    + abbreviate(server) + "' is not a target server name");
        }
        CoordinatorClient.RegisteredTarget registered = read(server, "refusing to " + action + " "
                + commanded.describe() + ": ");
        if (!"database".equals(registered.kind()) && registered.kind() != null) {
            throw new CommandFailure("refusing to " + action + " " + commanded.describe() + ": target server '"
                    + server + "' is registered as a " + registered.kind() + " target, not a database server");
        }
        List<String> differences = new ArrayList<>();
        differ(differences, "host", commanded.host(), registered.host());
        differ(differences, "port", commanded.port(), registered.port());
        differ(differences, "user", commanded.user(), registered.user());
        differ(differences, "passwordRef", commanded.passwordRef(), registered.passwordRef());
        if (!differences.isEmpty()) {
            throw new CommandFailure("refusing to " + action + " " + commanded.describe() + ": the command's "
                    + String.join(", ", differences) + " of target server '" + server + "' as registered in "
                    + "recovery-coordinator; nothing was connected to");
        }
        String database = TargetServers.validName(commanded);
        if (!allows(registered, database)) {
            throw new CommandFailure("refusing to " + action + " database '" + database + "' on target server '"
                    + server + "': it does not match the server's database pattern " + registered.databasePattern());
        }
        String sslmode = tls(registered);
        return new DatabaseTarget(registered.host(), registered.port(), database, registered.user(),
                registered.passwordRef(), server, sslmode,
                SslMode.parse(sslmode).verifiesServer() ? registered.sslRootCertRef() : null);
    }

    /**
     * The registered sslmode (require when the registration names none: a coordinator of before TLS settings on
     * targets), its CA certificate read and placed for the connections when it names one.
     */
    private String tls(CoordinatorClient.RegisteredTarget t) {
        SslMode mode;
        try {
            mode = SslMode.parse(t.sslmode());
        } catch (IllegalArgumentException e) {
            throw new CommandFailure("target server '" + t.name() + "': " + e.getMessage());
        }
        if (mode.verifiesServer() && t.sslRootCertRef() == null) {
            throw new CommandFailure("target server '" + t.name() + "' has sslmode " + mode + " but no "
                    + "sslRootCertRef to check the server's certificate against");
        }
        if (mode.verifiesServer()) {
            TargetCa.place(secrets, t.name(), t.sslRootCertRef());
        }
        return mode.value();
    }

    /** The registration of {@code server}; {@code refusing} starts the message of a permanent failure. */
    private CoordinatorClient.RegisteredTarget read(String server, String refusing) {
        try {
            CoordinatorClient.RegisteredTarget t = coordinator.target(server);
            if (t == null || t.host() == null || t.port() == null || t.user() == null || t.passwordRef() == null
                    || t.databasePattern() == null) {
                throw new CommandFailure(refusing + "recovery-coordinator at " + coordinatorUrl + " answered target "
                        + "server '" + server + "' without host, port, user, passwordRef and databasePattern");
            }
            return t;
        } catch (WebApplicationException e) {
            int status = e.getResponse().getStatus();
            if (status == 404) {
                throw new CommandFailure(refusing + "target server '" + server + "' is not registered in "
                        + "recovery-coordinator (" + coordinatorUrl + "); an admin registers it with PUT "
                        + "/api/v1/targets/" + server);
            }
            if (status == 401 || status == 403) {
                throw new CommandFailure(refusing + "recovery-coordinator (" + coordinatorUrl + ") refused "
                        + "snapshot-worker's service token with " + status + " reading target server '" + server
                        + "': the token in LIFEBOAT_SERVICE_TOKEN_FILE must be valid and hold lifeboat-viewer", e);
            }
            if (Transience.isTransient(e)) {
                throw new RegistryUnavailable("recovery-coordinator (" + coordinatorUrl + ") answered " + status
                        + " reading target server '" + server + "'", e);
            }
            throw new CommandFailure(refusing + "recovery-coordinator (" + coordinatorUrl + ") answered " + status
                    + " reading target server '" + server + "'", e);
        } catch (CommandFailure e) {
            throw e;
        } catch (RuntimeException e) {
            if (Transience.isTransient(e)) {
                // the coordinator away or slower than quarkus.rest-client.coordinator.read-timeout
                throw new RegistryUnavailable("cannot read target server '" + server + "' from recovery-coordinator "
                        + "at " + coordinatorUrl + " (COORDINATOR_URL): " + e.getMessage(), e);
            }
            throw new CommandFailure(refusing + "cannot read target server '" + server + "' from "
                    + "recovery-coordinator at " + coordinatorUrl + ": " + e, e);
        }
    }

    /** The whole name against the registered pattern, as the coordinator matches it. */
    private static boolean allows(CoordinatorClient.RegisteredTarget t, String database) {
        try {
            return Pattern.compile(t.databasePattern()).matcher(database).matches();
        } catch (PatternSyntaxException e) {
            throw new CommandFailure("target server '" + t.name() + "' has a database pattern that is not a regular "
                    + "expression: " + e.getDescription());
        }
    }

    private static void differ(List<String> differences, String field, Object commanded, Object registered) {
        if (!Objects.equals(commanded, registered)) {
            differences.add(field + " '" + abbreviate(String.valueOf(commanded)) + "' is not the registered '"
                    + registered + "'");
        }
    }

    private static String abbreviate(String s) {
        return s == null ? "null" : s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
