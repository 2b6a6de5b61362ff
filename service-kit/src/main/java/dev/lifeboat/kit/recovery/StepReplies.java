package dev.lifeboat.kit.recovery;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

import org.eclipse.microprofile.reactive.messaging.Message;

import com.fasterxml.jackson.core.JsonProcessingException;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.kit.messaging.KafkaEvents;

/**
 * Building, storing and sending the StepReply of a recovery command (on the participant's own reply topic,
 * {@link Topics#repliesOf}, key runId).
 */
public final class StepReplies {
    private StepReplies() {
    }

    public static StepReply completed(RecoveryCommand c, EventType command, String participant, String message,
                                      Map<String, Object> result, Instant startedAt) {
        return new StepReply(c.commandId(), c.runId(), c.step(), command.name(), participant,
                StepReply.Outcome.COMPLETED, message, result, startedAt, Instant.now());
    }

    public static StepReply failed(RecoveryCommand c, EventType command, String participant, String message,
                                   Map<String, Object> result, Instant startedAt) {
        return new StepReply(c.commandId(), c.runId(), c.step(), command.name(), participant,
                StepReply.Outcome.FAILED, message, result, startedAt, Instant.now());
    }

    public static String toJson(StepReply reply) {
        return EventCodec.encodeData(reply);
    }

    public static StepReply fromJson(String json) {
        try {
            return EventCodec.mapper().readValue(json, StepReply.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored reply is unreadable: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * The reply as a Kafka message to {@code service}'s reply topic. Its event id derives from the command id, so a
     * re-sent reply is recognisably the same fact.
     */
    public static Message<String> message(StepReply reply, String json, String service, String source) {
        String eventId = UUID.nameUUIDFromBytes(("reply:" + reply.commandId()).getBytes(StandardCharsets.UTF_8))
                .toString();
        return KafkaEvents.messageOfJson(eventId, EventType.STEP_REPLIED, Topics.repliesOf(service), reply.runId(),
                json, source);
    }
}
