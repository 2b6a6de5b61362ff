package dev.lifeboat.kit.messaging;

import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.InvalidEventException;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import org.apache.kafka.common.header.Headers;
import org.eclipse.microprofile.reactive.messaging.Message;

import java.time.Instant;

/**
 * CloudEvents in Kafka binary mode for SmallRye channels. Channels run with {@code cloud-events=false}: the
 * platform writes and validates the ce_ headers itself so that one codec (the contracts module's) decides
 * what a valid event is, for our services and for any other publisher alike.
 */
public final class KafkaEvents {
    private KafkaEvents() {
    }

    /** An outgoing event with a fresh id. The record key is the aggregate id. */
    public static Message<String> message(EventType type, String key, Object data, String source) {
        return message(java.util.UUID.randomUUID().toString(), type, key, data, source);
    }

    /** An outgoing event with a chosen id: re-sending the same fact yields the same id, so readers dedupe it. */
    public static Message<String> message(String eventId, EventType type, String key, Object data, String source) {
        return messageOfJson(eventId, type, key, EventCodec.encodeData(data), source);
    }

    /** As {@link #message(String, EventType, String, Object, String)} for data already serialised (an outbox row). */
    public static Message<String> messageOfJson(String eventId, EventType type, String key, String json, String source) {
        if (type.topic() == null) {
            throw new IllegalArgumentException(type + " has no topic of its own: name the sender's");
        }
        return messageOfJson(eventId, type, type.topic(), key, json, source);
    }

    /** As {@link #messageOfJson(String, EventType, String, String, String)}, to {@code topic}. */
    public static Message<String> messageOfJson(String eventId, EventType type, String topic, String key, String json,
                                                String source) {
        Headers headers = EventCodec.headers(eventId, type, source, key, Instant.now());
        return Message.of(json).addMetadata(OutgoingKafkaRecordMetadata.<String>builder()
                .withTopic(topic)
                .withKey(key)
                .withHeaders(headers)
                .build());
    }

    /** Decodes an incoming record; an {@link InvalidEventException} nacks it into the dead-letter topic. */
    public static CloudEvent<?> decode(Message<String> message) {
        Headers headers = message.getMetadata(IncomingKafkaRecordMetadata.class)
                .map(IncomingKafkaRecordMetadata::getHeaders)
                .orElse(null);
        return EventCodec.decode(headers, message.getPayload());
    }

    @SuppressWarnings("unchecked")
    public static IncomingKafkaRecordMetadata<String, String> kafka(Message<String> message) {
        return message.getMetadata(IncomingKafkaRecordMetadata.class)
                .orElseThrow(() -> new IllegalStateException("not a Kafka record"));
    }
}
