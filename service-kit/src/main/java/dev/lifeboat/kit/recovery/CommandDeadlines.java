package dev.lifeboat.kit.recovery;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.StepReply;

/**
 * A saga command's deadline as a participant applies it. Past its deadline the coordinator has stopped waiting:
 * the run was failed or compensated, so work started then (a restore) would appear behind the run's back. Such a
 * command is answered FAILED without being started; the reply says by how much it was late, so that a person sees
 * a participant that was down or far behind rather than a failed restore. A command without a deadline (an older
 * coordinator) is always started.
 */
public final class CommandDeadlines {
    private CommandDeadlines() {
    }

    /** True when the command carries a deadline and {@code now} is past it. */
    public static boolean passed(RecoveryCommand command, Instant now) {
        return command.deadline() != null && now.isAfter(command.deadline());
    }

    /** The refusal of a command delivered after its deadline, or empty when it may start. */
    public static Optional<StepReply> refusal(RecoveryCommand command, EventType type, String participant,
                                              Instant now) {
        if (!passed(command, now)) {
            return Optional.empty();
        }
        Duration late = Duration.between(command.deadline(), now);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("late", true);
        result.put("deadline", command.deadline().toString());
        result.put("lateMillis", late.toMillis());
        return Optional.of(StepReplies.failed(command, type, participant, type + " " + command.commandId()
                + " arrived at " + participant + " after its deadline " + command.deadline() + " (late by " + late
                + "); not started, since the run no longer waits for it", result, now));
    }

    /** Why work that was started in time is abandoned once the deadline passed. */
    public static String overrun(RecoveryCommand command, String doing, Instant now) {
        return "deadline " + command.deadline() + " of " + command.commandId() + " passed " + doing + " (by "
                + Duration.between(command.deadline(), now) + "); stopped, since the run no longer waits for it";
    }
}
