package dev.lifeboat.kit.messaging;

import dev.lifeboat.contracts.Topics;
import dev.lifeboat.kit.retry.RetriesExhaustedException;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * Parks a valid record whose work failed transiently for the whole retry window, or failed for a reason of the
 * service's own that waiting does not fix, on {@value Topics#PARKED}: the record as it came (key, value, every
 * header) plus where it came from and why it was parked. Parked records are kept apart from the dead letters
 * (records that are not valid), and scheduler-service replays both to their origin topic on an administrator's
 * request, once the cause is fixed. The consumers are idempotent, so a replayed record that was processed meanwhile
 * changes nothing.
 *
 * <p>A service that parks declares the outgoing channel {@code parked} on topic {@value Topics#PARKED}. Each
 * record parked counts in {@code lifeboat_records_parked_total{topic}} (its origin topic), which the alert
 * LifeboatRecordsParked watches.
 */
@ApplicationScoped
public class Parking {
    private static final Logger LOG = Logger.getLogger(Parking.class);

    public static final String ORIGIN_TOPIC = "lifeboat-origin-topic";
    public static final String ORIGIN_PARTITION = "lifeboat-origin-partition";
    public static final String ORIGIN_OFFSET = "lifeboat-origin-offset";
    public static final String REASON = "lifeboat-parked-reason";
    public static final String ATTEMPTS = "lifeboat-parked-attempts";
    public static final String PARKED_AT = "lifeboat-parked-at";
    public static final String PARKED_BY = "lifeboat-parked-by";

    @Inject
    @Channel("parked")
    MutinyEmitter<String> emitter;

    @ConfigProperty(name = "quarkus.application.name")
    String service;

    @Inject
    MeterRegistry registry;

    /** Sends the record to the parking topic; the caller acknowledges the original once this completes. */
    public Uni<Void> park(Message<String> message, RetriesExhaustedException why) {
        return park(message, why.getMessage(), why.attempts());
    }

    /**
     * As {@link #park(Message, RetriesExhaustedException)} for a valid record whose work failed for a reason that
     * waiting does not fix (a permission the service lacks, say): {@code reason} is what the operator reads.
     */
    public Uni<Void> park(Message<String> message, String reason, int attempts) {
        IncomingKafkaRecordMetadata<String, String> origin = KafkaEvents.kafka(message);
        RecordHeaders headers = withoutParkingHeaders(origin.getHeaders());
        headers.add(ORIGIN_TOPIC, utf8(origin.getTopic()));
        headers.add(ORIGIN_PARTITION, utf8(Integer.toString(origin.getPartition())));
        headers.add(ORIGIN_OFFSET, utf8(Long.toString(origin.getOffset())));
        headers.add(REASON, utf8(reason));
        headers.add(ATTEMPTS, utf8(Integer.toString(attempts)));
        headers.add(PARKED_AT, utf8(Instant.now().toString()));
        headers.add(PARKED_BY, utf8(service));
        LOG.errorf("record %s-%d@%d parked on %s (replay it with POST /api/v1/admin/parked/replay of scheduler-service "
                        + "once the cause is fixed): %s", origin.getTopic(), origin.getPartition(), origin.getOffset(),
                Topics.PARKED, reason);
        return emitter.sendMessage(Message.of(message.getPayload()).addMetadata(
                OutgoingKafkaRecordMetadata.<String>builder()
                        .withTopic(Topics.PARKED)
                        .withKey(origin.getKey())
                        .withHeaders(headers)
                        .build()))
                .invoke(() -> registry.counter("lifeboat_records_parked_total", "topic", origin.getTopic())
                        .increment());
    }

    /**
     * {@code headers} without those parking adds (where the record came from, why it was parked): a parked record's
     * own headers, as it came, for its replay, or for parking a replayed record again.
     */
    public static RecordHeaders withoutParkingHeaders(Iterable<Header> headers) {
        RecordHeaders own = new RecordHeaders();
        for (Header h : headers) {
            if (!h.key().startsWith("lifeboat-origin-") && !h.key().startsWith("lifeboat-parked-")) {
                own.add(h.key(), h.value());
            }
        }
        return own;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
