package dev.lifeboat.kit.recovery;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.WebApplicationException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.rest.client.inject.RestClient;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.kit.retry.Transience;

/**
 * Whether recovery-coordinator sent a recovery command a participant received, and waits for it. The commands topic
 * is written by the coordinator alone, but a holder of its Kafka credentials could write any command there: restore a
 * source's backup into a database a registered target allows and read it back through checks, drop such a database,
 * stop and remove a restored cluster, have a backup verified or prepared. So before acting, a participant (its
 * RecoveryCommandService) reads the command back from the coordinator
 * ({@code GET /api/v1/runs/{id}/commands}), which answers from its own database:
 * <ul>
 * <li>awaited and equal (its deadline aside: a coordinator that resumed re-sends it with a later one): the participant
 * acts on the command as the coordinator holds it;</li>
 * <li>sent, equal, but no longer awaited (answered, timed out): a late or repeated delivery, not run; what an earlier
 * attempt left behind is cleaned up from the coordinator's copy only;</li>
 * <li>never sent, a malformed id, or sent with other content or type: {@link CommandNotIssued}, dead-lettered with
 * the reason, counted in {@code lifeboat_recovery_commands_refused_total}.</li>
 * </ul>
 * A coordinator that cannot answer now (away, 5xx, timed out) is transient: the delivery is retried under the
 * platform's retry policy, then parked, and the run's step deadline answers the run meanwhile. One without the
 * endpoint (a 404 that is not its "Command Not Sent") or refusing the token parks the command at once with the reason.
 */
@ApplicationScoped
public class IssuedCommands {
    private static final Pattern RUN_ID = Pattern.compile(
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    private static final Pattern ACTION = Pattern.compile("[a-z-]{1,40}");
    /** The largest step index the coordinator's command ids carry (RunResource accepts up to four digits). */
    private static final int MAX_STEP = 9999;
    /** The title of recovery-coordinator's 404 for a command it did not send (RunService.COMMAND_NOT_SENT). */
    static final String COMMAND_NOT_SENT = "Command Not Sent";

    @Inject
    @RestClient
    CoordinatorCommands coordinator;
    @Inject
    MeterRegistry registry;

    @ConfigProperty(name = "quarkus.rest-client.coordinator.url")
    String coordinatorUrl;
    @ConfigProperty(name = "quarkus.application.name")
    String service;

    /** What the coordinator says of a command the participant received. */
    public sealed interface Verdict permits Awaited, NotAwaited {
    }

    /** The coordinator waits for this command: {@code command} as it sent it last. */
    public record Awaited(RecoveryCommand command) implements Verdict {
    }

    /**
     * The coordinator sent it once and waits for it no more; {@code command} as it sent it (null for a command sent
     * before the coordinator kept what it sent).
     */
    public record NotAwaited(String why, RecoveryCommand command) implements Verdict {
    }

    /** The coordinator could not be asked now; the same delivery later may pass. */
    public static final class CoordinatorUnavailable extends RuntimeException
            implements dev.lifeboat.kit.retry.TransientFailure {
        CoordinatorUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The coordinator's word on {@code delivered}.
     *
     * @throws CommandNotIssued when the coordinator did not send it, or sent another command under its id
     */
    public Verdict verify(RecoveryCommand delivered, EventType type) {
        String runId = delivered.runId();
        String id = delivered.commandId();
        String prefix = runId + ":" + delivered.step() + ":";
        if (!RUN_ID.matcher(runId).matches() || delivered.step() < 0 || delivered.step() > MAX_STEP
                || !id.startsWith(prefix) || !ACTION.matcher(id.substring(prefix.length())).matches()) {
            throw refused("malformed", "command id '" + abbreviate(id) + "' of run '" + abbreviate(runId)
                    + "' step " + delivered.step() + " is not one recovery-coordinator makes "
                    + "(<run id>:<step>:<action>); nothing was done");
        }
        CoordinatorCommands.IssuedCommand issued = read(runId, id);
        if (issued == null) {
            throw refused("not-issued", "recovery-coordinator (" + coordinatorUrl + ") sent no command " + id
                    + " for run " + runId + "; nothing was done");
        }
        RecoveryCommand held = issued.command() == null ? null : held(delivered, type, issued);
        if (!issued.awaited()) {
            registry.counter("lifeboat_recovery_commands_refused_total", "reason", "not-awaited").increment();
            return new NotAwaited("recovery-coordinator no longer waits for command " + id + " (answered, or its "
                    + "step timed out)", held);
        }
        if (held == null) {
            throw new IllegalStateException("recovery-coordinator at " + coordinatorUrl + " waits for command " + id
                    + " but did not answer it");
        }
        return new Awaited(held);
    }

    /** The command as the coordinator sent it, when {@code delivered} is the same in all but its deadline. */
    private RecoveryCommand held(RecoveryCommand delivered, EventType type, CoordinatorCommands.IssuedCommand issued) {
        String id = delivered.commandId();
        if (!type.name().equals(issued.type())) {
            throw refused("differs", "recovery-coordinator sent command " + id + " as " + issued.type() + ", not "
                    + type.name() + "; nothing was done");
        }
        RecoveryCommand held;
        try {
            held = (RecoveryCommand) EventCodec.decodeData(type, issued.command().toString());
        } catch (RuntimeException e) {
            throw new IllegalStateException("recovery-coordinator answered command " + id + " in a form this "
                    + "participant cannot read: " + e.getMessage(), e);
        }
        List<String> differences = differences(delivered, held);
        if (!differences.isEmpty()) {
            throw refused("differs", "command " + id + " differs from the one recovery-coordinator sent in "
                    + String.join(", ", differences) + "; nothing was done");
        }
        return held;
    }

    private CommandNotIssued refused(String reason, String message) {
        registry.counter("lifeboat_recovery_commands_refused_total", "reason", reason).increment();
        return new CommandNotIssued(message);
    }

    /** The coordinator's record of the command, null when it sent none. */
    private CoordinatorCommands.IssuedCommand read(String runId, String commandId) {
        try {
            CoordinatorCommands.IssuedCommand issued = coordinator.command(runId, commandId);
            if (issued == null || !commandId.equals(issued.commandId()) || !runId.equals(issued.runId())) {
                throw new IllegalStateException("recovery-coordinator at " + coordinatorUrl + " answered command "
                        + commandId + " with another command");
            }
            return issued;
        } catch (WebApplicationException e) {
            int status = e.getResponse().getStatus();
            if (status == 404 && problemTitle(e).equals(COMMAND_NOT_SENT)) {
                return null;
            }
            if (status == 404) {
                throw new IllegalStateException("recovery-coordinator at " + coordinatorUrl + " does not answer GET "
                        + "/api/v1/runs/{id}/commands (older than this participant?): upgrade recovery-coordinator "
                        + "first; the command is parked until then", e);
            }
            if (status == 400) {
                throw refused("malformed", "recovery-coordinator (" + coordinatorUrl + ") refused command id "
                        + commandId + " as malformed; nothing was done");
            }
            if (status == 401 || status == 403) {
                throw new IllegalStateException("recovery-coordinator (" + coordinatorUrl + ") refused "
                        + service + "'s service token with " + status + " reading command " + commandId
                        + ": the token in LIFEBOAT_SERVICE_TOKEN_FILE must be valid and hold lifeboat-viewer", e);
            }
            if (Transience.isTransient(e)) {
                throw new CoordinatorUnavailable("recovery-coordinator (" + coordinatorUrl + ") answered " + status
                        + " reading command " + commandId, e);
            }
            throw new IllegalStateException("recovery-coordinator (" + coordinatorUrl + ") answered " + status
                    + " reading command " + commandId, e);
        } catch (IllegalStateException e) {
            throw e;
        } catch (RuntimeException e) {
            if (Transience.isTransient(e)) {
                throw new CoordinatorUnavailable("cannot read command " + commandId + " from recovery-coordinator "
                        + "at " + coordinatorUrl + " (COORDINATOR_URL): " + e.getMessage(), e);
            }
            throw e;
        }
    }

    /** The title of a problem document answered with {@code e}, or "" when there is none. */
    private static String problemTitle(WebApplicationException e) {
        try {
            String body = e.getResponse().readEntity(String.class);
            JsonNode title = body == null ? null : EventCodec.mapper().readTree(body).get("title");
            return title == null ? "" : title.asText();
        } catch (Exception unreadable) {
            return "";
        }
    }

    /** The fields in which {@code delivered} is not {@code held}, the deadline aside. */
    static List<String> differences(RecoveryCommand delivered, RecoveryCommand held) {
        ObjectNode got = EventCodec.mapper().valueToTree(delivered);
        ObjectNode sent = EventCodec.mapper().valueToTree(held);
        got.remove("deadline");
        sent.remove("deadline");
        List<String> differences = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = sent.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (!field.getValue().equals(got.get(field.getKey()))) {
                differences.add(field.getKey());
            }
        }
        got.fieldNames().forEachRemaining(name -> {
            if (!sent.has(name)) {
                differences.add(name);
            }
        });
        return differences;
    }

    private static String abbreviate(String s) {
        return s == null ? "null" : s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
