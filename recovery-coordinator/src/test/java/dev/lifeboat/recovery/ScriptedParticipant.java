package dev.lifeboat.recovery;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.recovery.domain.SagaTable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;

/**
 * Plays storage-worker and snapshot-worker in tests, scripted by the test: it reads the real commands topic with a
 * real Kafka consumer and answers on the real reply topic of the service it answers as, with a real producer
 * holding that service's credentials. It does no restore work; it says what a participant would answer.
 */
public final class ScriptedParticipant implements AutoCloseable {
    public record Command(EventType type, String commandId, String runId, int step, Map<String, Object> data,
                          String traceparent) {
    }

    private final Function<String, Map<String, Object>> kafka;
    private final KafkaConsumer<String, String> consumer;
    private final Map<String, KafkaProducer<String, String>> producers = new HashMap<>();
    private final List<Command> seen = new ArrayList<>();

    /** {@code kafka}: the client configuration of a principal (the participants read commands and write replies). */
    public ScriptedParticipant(Function<String, Map<String, Object>> kafka) {
        this.kafka = kafka;
        Properties c = new Properties();
        c.putAll(kafka.apply("storage-worker"));
        c.put("key.deserializer", StringDeserializer.class.getName());
        c.put("value.deserializer", StringDeserializer.class.getName());
        c.put("enable.auto.commit", "false");
        consumer = new KafkaConsumer<>(c);
        List<TopicPartition> partitions = consumer.partitionsFor(Topics.RECOVERY_COMMANDS).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position);
    }

    /** The next command of this run (in the order the coordinator sent them). */
    @SuppressWarnings("unchecked")
    public Command next(String runId, Duration timeout) {
        Instant until = Instant.now().plus(timeout);
        while (Instant.now().isBefore(until)) {
            for (int i = 0; i < seen.size(); i++) {
                if (seen.get(i).runId().equals(runId)) {
                    return seen.remove(i);
                }
            }
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                EventType type = EventType.ofCeType(EventCodec.header(r.headers(), EventCodec.H_TYPE)).orElseThrow();
                EventCodec.decode(r.headers(), r.value()); // every command must pass its schema
                Map<String, Object> data;
                try {
                    data = EventCodec.mapper().readValue(r.value(), Map.class);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                seen.add(new Command(type, (String) data.get("commandId"), r.key(), (Integer) data.get("step"), data,
                        EventCodec.header(r.headers(), "traceparent")));
            }
        }
        throw new AssertionError("no command for run " + runId + " within " + timeout);
    }

    public Command next(String runId) {
        return next(runId, Duration.ofSeconds(20));
    }

    /** Nothing more for this run within the given time. */
    public List<Command> drain(String runId, Duration wait) {
        List<Command> extra = new ArrayList<>();
        try {
            while (true) {
                extra.add(next(runId, wait));
            }
        } catch (AssertionError done) {
            return extra;
        }
    }

    /** Answers as the service the command went to would. */
    public void reply(Command command, StepReply.Outcome outcome, String message, Map<String, Object> result) {
        String service = SagaTable.participantOf(command.type());
        replyAs(service, command, service + "/test", outcome, message, result);
    }

    /**
     * Answers as {@code service}: with its credentials, on its own reply topic, naming {@code participant} in the
     * reply (what a reply says of its sender, which the coordinator does not take on trust).
     */
    public void replyAs(String service, Command command, String participant, StepReply.Outcome outcome,
                        String message, Map<String, Object> result) {
        StepReply reply = new StepReply(command.commandId(), command.runId(), command.step(),
                command.type().ceType(), participant, outcome, message, result, Instant.now(), Instant.now());
        ProducerRecord<String, String> record = new ProducerRecord<>(Topics.repliesOf(service), null, command.runId(),
                EventCodec.encodeData(reply), EventCodec.headers(EventType.STEP_REPLIED, "/test/scripted-participant",
                command.runId()));
        try {
            producer(service).send(record).get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private KafkaProducer<String, String> producer(String service) {
        return producers.computeIfAbsent(service, s -> {
            Properties p = new Properties();
            p.putAll(kafka.apply(s));
            p.put("key.serializer", StringSerializer.class.getName());
            p.put("value.serializer", StringSerializer.class.getName());
            return new KafkaProducer<>(p);
        });
    }

    public void completed(Command command, Map<String, Object> result) {
        reply(command, StepReply.Outcome.COMPLETED, command.type().name().toLowerCase() + " done", result);
    }

    @Override
    public void close() {
        consumer.close();
        producers.values().forEach(KafkaProducer::close);
    }
}
