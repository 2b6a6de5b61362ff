package dev.lifeboat.contracts;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * Turns Kafka records into validated CloudEvents and back. Binary mode: the CloudEvents attributes travel as
 * {@code ce_*} headers, the data is the JSON record value, validated against the type's JSON Schema.
 */
public final class EventCodec {
    public static final String SPEC_VERSION = "1.0";
    public static final String CONTENT_TYPE = "application/json";
    public static final String H_ID = "ce_id";
    public static final String H_SPEC = "ce_specversion";
    public static final String H_TYPE = "ce_type";
    public static final String H_SOURCE = "ce_source";
    public static final String H_SUBJECT = "ce_subject";
    public static final String H_TIME = "ce_time";
    public static final String H_CONTENT_TYPE = "content-type";

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private static final Map<EventType, JsonSchema> SCHEMAS = loadSchemas();

    private EventCodec() {
    }

    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** Reads and validates one record; throws {@link InvalidEventException} with the reason when it is not a valid event. */
    public static CloudEvent<?> decode(Headers headers, String value) {
        String spec = header(headers, H_SPEC);
        if (spec == null) {
            throw new InvalidEventException("not a CloudEvent: header ce_specversion is missing");
        }
        if (!SPEC_VERSION.equals(spec)) {
            throw new InvalidEventException("unsupported CloudEvents spec version '" + spec + "', expected 1.0");
        }
        String ceType = required(headers, H_TYPE);
        String id = required(headers, H_ID);
        String source = required(headers, H_SOURCE);
        EventType type = EventType.ofCeType(ceType)
                .orElseThrow(() -> new InvalidEventException("unknown event type '" + ceType + "'"));
        Instant time = parseTime(header(headers, H_TIME));
        return new CloudEvent<>(id, type, source, header(headers, H_SUBJECT), time, decodeData(type, value));
    }

    /** Validates JSON data against the schema of {@code type} and maps it to the type's record. */
    public static Object decodeData(EventType type, String value) {
        if (value == null || value.isBlank()) {
            throw new InvalidEventException("event data is empty");
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(value);
        } catch (JsonProcessingException e) {
            throw new InvalidEventException("event data is not valid JSON: " + e.getOriginalMessage());
        }
        Set<ValidationMessage> errors = SCHEMAS.get(type).validate(node);
        if (!errors.isEmpty()) {
            throw new InvalidEventException("event data fails schema " + type.ceType() + ": "
                    + errors.stream().map(ValidationMessage::getMessage).sorted().collect(Collectors.joining("; ")));
        }
        try {
            return MAPPER.treeToValue(node, type.dataClass());
        } catch (JsonProcessingException e) {
            throw new InvalidEventException("event data cannot be read as " + type.dataClass().getSimpleName()
                    + ": " + e.getOriginalMessage());
        }
    }

    public static String encodeData(Object data) {
        try {
            return MAPPER.writeValueAsString(data);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot serialise " + data.getClass().getSimpleName(), e);
        }
    }

    /** The ce_ headers of a new event, with a random id. */
    public static Headers headers(EventType type, String source, String subject) {
        return headers(UUID.randomUUID().toString(), type, source, subject, Instant.now());
    }

    public static Headers headers(String id, EventType type, String source, String subject, Instant time) {
        RecordHeaders h = new RecordHeaders();
        put(h, H_SPEC, SPEC_VERSION);
        put(h, H_ID, id);
        put(h, H_TYPE, type.ceType());
        put(h, H_SOURCE, source);
        if (subject != null) {
            put(h, H_SUBJECT, subject);
        }
        put(h, H_TIME, time.toString());
        put(h, H_CONTENT_TYPE, CONTENT_TYPE);
        return h;
    }

    public static String header(Headers headers, String name) {
        if (headers == null) {
            return null;
        }
        Header h = headers.lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static void put(RecordHeaders h, String name, String value) {
        h.add(name, value.getBytes(StandardCharsets.UTF_8));
    }

    private static String required(Headers headers, String name) {
        String v = header(headers, name);
        if (v == null || v.isBlank()) {
            throw new InvalidEventException("CloudEvent header " + name + " is missing");
        }
        return v;
    }

    private static Instant parseTime(String value) {
        if (value == null) {
            return Instant.now();
        }
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            throw new InvalidEventException("CloudEvent header ce_time is not an RFC 3339 timestamp: '" + value + "'");
        }
    }

    private static Map<EventType, JsonSchema> loadSchemas() {
        JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
        Map<EventType, JsonSchema> schemas = new EnumMap<>(EventType.class);
        for (EventType type : EventType.values()) {
            try (InputStream in = EventCodec.class.getResourceAsStream(type.schemaResource())) {
                if (in == null) {
                    throw new IllegalStateException("missing schema " + type.schemaResource());
                }
                schemas.put(type, factory.getSchema(MAPPER.readTree(in)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return schemas;
    }
}
