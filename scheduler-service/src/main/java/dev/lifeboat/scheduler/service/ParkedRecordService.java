package dev.lifeboat.scheduler.service;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.scheduler.domain.ParkedReplay;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.vertx.VertxContextSupport;
import io.smallrye.mutiny.Uni;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Set;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Lists the parked records ({@value Topics#PARKED}: valid work that failed transiently for a whole retry window) and
 * the dead letters ({@value Topics#DLQ}: records a consumer refused), and replays one to the topic it came from,
 * once an administrator fixed the cause. The record goes back as it was (key, value, CloudEvents and trace headers),
 * marked with where it was replayed from; the consumers' idempotency guards make a replay of work that was done
 * meanwhile change nothing. The saga's command topic is not replayed: a late command is refused past its deadline,
 * a new run is the way to redo it.
 */
@ApplicationScoped
public class ParkedRecordService {
    private static final Logger LOG = Logger.getLogger(ParkedRecordService.class);
    public static final String REPLAYED_FROM = "lifeboat-replayed-from";
    public static final String REPLAYED_BY = "lifeboat-replayed-by";
    private static final Set<String> REPLAYABLE = Set.of(Topics.BACKUP_REQUESTED, Topics.BACKUP_EVENTS,
            Topics.RECOVERY_REPLIES, Topics.RECOVERY_EVENTS);

    /** Where a record was held and why, as the list shows it, and when and by whom it was last replayed. */
    public record HeldRecord(String topic, int partition, long offset, String key, String originTopic,
                             Integer originPartition, Long originOffset, String reason, Integer attempts,
                             String eventType, String eventId, Instant heldAt, String replayedFrom,
                             Instant replayedAt, String replayedBy, String replayUnknown, String originProblem) {
        HeldRecord replayed(ParkedReplay last) {
            return last == null ? this : new HeldRecord(topic, partition, offset, key, originTopic, originPartition,
                    originOffset, reason, attempts, eventType, eventId, heldAt, replayedFrom, last.replayedAt,
                    last.replayedBy, null, originProblem);
        }

        /** The record as listed while the replays cannot be read: {@code why} says so instead of "never replayed". */
        HeldRecord replayUnknown(String why) {
            return new HeldRecord(topic, partition, offset, key, originTopic, originPartition, originOffset, reason,
                    attempts, eventType, eventId, heldAt, replayedFrom, null, null, why, originProblem);
        }

        String where() {
            return topic + "-" + partition + "@" + offset;
        }
    }

    /** Where the replayed copy went. */
    public record Replayed(String topic, int partition, long offset, String key, String eventType) {
    }

    /**
     * Which held records a bulk replay takes: those of the holding topic {@code from} ({@code parked} or
     * {@code dead-letter}) whose origin topic is {@code originTopic} (when given), whose reason contains
     * {@code reasonContains} (ignoring case, when given), held at or after {@code heldAfter} and before
     * {@code heldBefore} (when given); at most {@code limit} of them, oldest first.
     */
    public record Selection(String from, String originTopic, String reasonContains, Instant heldAfter,
                            Instant heldBefore, int limit, boolean dryRun) {
        boolean matches(HeldRecord h) {
            return (originTopic == null || originTopic.equals(h.originTopic()))
                    && (reasonContains == null || (h.reason() != null
                    && h.reason().toLowerCase(Locale.ROOT).contains(reasonContains.toLowerCase(Locale.ROOT))))
                    && (heldAfter == null || !h.heldAt().isBefore(heldAfter))
                    && (heldBefore == null || h.heldAt().isBefore(heldBefore));
        }
    }

    /** Why a matching record was not replayed. */
    public enum SkipCode { ALREADY_REPLAYED, ORIGIN_UNKNOWN, ORIGIN_NOT_REPLAYABLE, ORIGIN_FORGED }

    /** A record of a bulk replay: the held record and its copy (null in a dry run: nothing was sent). */
    public record BulkEntry(HeldRecord held, Replayed copy) {
    }

    /** A matching record a bulk replay left alone, and why. */
    public record Skipped(HeldRecord held, SkipCode code, String reason) {
    }

    /**
     * What a bulk replay did: {@code replayed} oldest first (in a dry run: what it would replay), the matching
     * records it {@code skipped} (the first {@value #SKIPPED_SHOWN}; {@code skippedCount} counts them all),
     * {@code remaining}: matching records still to replay (past the limit, or not reached when it stopped).
     * {@code complete} false means it stopped part-way, for the reason in {@code stoppedBecause}.
     */
    public record BulkReplayed(boolean dryRun, List<BulkEntry> replayed, List<Skipped> skipped, int skippedCount,
                               int remaining, boolean complete, String stoppedBecause) {
    }

    static final int SKIPPED_SHOWN = 1000;
    /**
     * At most this many bytes of held records (values and headers) are kept for one bulk replay: a dead-letter topic
     * can hold records of up to the broker's largest size, and a thousand of those would not fit the service's heap.
     * The newest past it are left for the next run ({@code remaining}).
     */
    static final long CANDIDATE_BYTES = 64L * 1024 * 1024;
    /** A held record's reason is shown up to this many characters (a dead letter's comes with the record). */
    static final int REASON_SHOWN = 2000;
    private static final Comparator<HeldRecord> OLDEST_FIRST = Comparator.comparing(HeldRecord::heldAt,
                    Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(HeldRecord::partition).thenComparing(HeldRecord::offset);

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    @ConfigProperty(name = "lifeboat.replay.timeout")
    Duration timeout;

    public static String topicOf(String from) {
        return switch (from == null ? "parked" : from) {
            case "parked" -> Topics.PARKED;
            case "dead-letter" -> Topics.DLQ;
            default -> throw new ProblemException(400, "Unknown holding topic",
                    "from must be 'parked' (" + Topics.PARKED + ") or 'dead-letter' (" + Topics.DLQ + "), not '"
                            + from + "'");
        };
    }

    /**
     * The newest {@code limit} records of each partition of the holding topic, oldest first, each with its last
     * replay.
     */
    @WithSpan("ParkedRecordService.list")
    public List<HeldRecord> list(String from, int limit) {
        String topic = topicOf(from);
        // the list is what an operator reads during an outage: it does not wait for the database that remembers
        // replays, it says per record that whether it was replayed is not known
        Map<String, ParkedReplay> replays;
        String unknown = null;
        try {
            replays = lastReplays(topic);
        } catch (RuntimeException e) {
            replays = Map.of();
            unknown = "not known: scheduler-service's database, which remembers replays, did not answer ("
                    + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()) + ")";
            LOG.warnf("listing %s without the replays: %s", topic, unknown);
        }
        Map<String, ParkedReplay> known = replays;
        String why = unknown;
        List<HeldRecord> held = new ArrayList<>();
        scan(topic, (consumer, partitions) -> {
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions, timeout);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            Map<TopicPartition, Long> start = new HashMap<>();
            partitions.forEach(tp -> start.put(tp, Math.max(begin.get(tp), end.get(tp) - limit)));
            return start;
        }, r -> {
            HeldRecord h = describe(r);
            held.add(why != null ? h.replayUnknown(why) : h.replayed(lastReplay(known, h)));
        });
        held.sort(OLDEST_FIRST);
        return held;
    }

    /**
     * Sends the held record at {@code partition}/{@code offset} back to its origin topic and records the replay.
     * A record replayed before is refused (409 naming when and by whom) unless {@code force}.
     */
    @WithSpan("ParkedRecordService.replay")
    public Replayed replay(String from, int partition, long offset, String actor, boolean force) {
        String topic = topicOf(from);
        ConsumerRecord<String, String> held = read(topic, partition, offset);
        HeldRecord info = describe(held);
        ParkedReplay last = lastReplay(lastReplays(topic), info);
        if (last != null && !force) {
            throw new ProblemException(409, "Already replayed", info.where() + " was replayed at " + last.replayedAt
                    + " by " + last.replayedBy + " to " + last.copy() + "; send \"force\": true to replay it again");
        }
        if (info.originProblem() != null) {
            throw new ProblemException(422, "Origin not trusted", info.originProblem());
        }
        String origin = info.originTopic();
        if (origin == null) {
            throw new ProblemException(422, "Origin unknown", info.where()
                    + " has no origin topic header; it cannot be replayed");
        }
        if (!REPLAYABLE.contains(origin)) {
            throw new ProblemException(422, "Origin not replayable", notReplayable(info));
        }
        ParkedReplay claim = claim(info, actor, force).orElseThrow(() -> new ProblemException(409,
                "Already replayed", info.where() + " was replayed by another request just now; send \"force\": true"
                + " to replay it again"));
        try (KafkaProducer<String, String> producer = producer()) {
            Replayed copy;
            try {
                copy = send(producer, held, info, actor);
            } catch (RuntimeException e) {
                unclaim(claim);
                throw e;
            }
            try {
                recordCopy(claim, copy);
            } catch (RuntimeException e) {
                throw new ProblemException(503, "Replay not recorded", info.where() + " was replayed to "
                        + copy.topic() + "-" + copy.partition() + "@" + copy.offset() + " but where the copy went"
                        + " could not be recorded in scheduler-service's database (" + e.getMessage() + "); the"
                        + " replay itself is recorded");
            }
            return copy;
        }
    }

    /**
     * Replays the held records the selection matches that were not replayed yet and whose origin is replayable,
     * oldest first, at most {@code limit}; one at a time, each recorded before the next is sent. A send or a record
     * that fails stops the run: the answer says what was done until then and why it stopped.
     */
    @WithSpan("ParkedRecordService.replayAll")
    public BulkReplayed replayAll(Selection selection, String actor) {
        String topic = topicOf(selection.from());
        Map<String, ParkedReplay> replays = lastReplays(topic);
        // the limit oldest candidates, the newest on top so that a newer one pushes it out: memory stays bounded
        // however many records the topic holds
        java.util.PriorityQueue<Candidate> candidates = new java.util.PriorityQueue<>(
                Comparator.comparing(Candidate::held, OLDEST_FIRST).reversed());
        // the oldest SKIPPED_SHOWN skipped records, the newest on top; all of them counted
        java.util.PriorityQueue<Skipped> skipped = new java.util.PriorityQueue<>(
                Comparator.comparing(Skipped::held, OLDEST_FIRST).reversed());
        int[] skippedCount = {0};
        long[] candidateBytes = {0};
        int[] remaining = {0};
        scan(topic, (consumer, partitions) -> {
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions, timeout);
            Map<TopicPartition, Long> start = new HashMap<>(begin);
            if (selection.heldAfter() != null) {
                // no record before the earliest offset with a timestamp at or after heldAfter was held after it
                Map<TopicPartition, Long> times = new HashMap<>();
                partitions.forEach(tp -> times.put(tp, selection.heldAfter().toEpochMilli()));
                Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
                consumer.offsetsForTimes(times, timeout).forEach((tp, o) ->
                        start.put(tp, o == null ? end.get(tp) : Math.max(begin.get(tp), o.offset())));
            }
            return start;
        }, r -> {
            HeldRecord h = describe(r);
            if (!selection.matches(h)) {
                return;
            }
            ParkedReplay last = lastReplay(replays, h);
            if (last != null) {
                h = h.replayed(last);
                skip(skipped, skippedCount, new Skipped(h, SkipCode.ALREADY_REPLAYED, "replayed at "
                        + last.replayedAt + " by " + last.replayedBy + " to " + last.copy()));
            } else if (h.originProblem() != null) {
                skip(skipped, skippedCount, new Skipped(h, SkipCode.ORIGIN_FORGED, h.originProblem()));
            } else if (h.originTopic() == null) {
                skip(skipped, skippedCount, new Skipped(h, SkipCode.ORIGIN_UNKNOWN, "no origin topic header"));
            } else if (!REPLAYABLE.contains(h.originTopic())) {
                skip(skipped, skippedCount, new Skipped(h, SkipCode.ORIGIN_NOT_REPLAYABLE, notReplayable(h)));
            } else {
                candidates.add(new Candidate(h, r));
                candidateBytes[0] += sizeOf(r);
                while (candidates.size() > selection.limit()
                        || candidateBytes[0] > CANDIDATE_BYTES && candidates.size() > 1) {
                    candidateBytes[0] -= sizeOf(candidates.poll().record());
                    remaining[0]++;
                }
            }
        });
        List<Candidate> todo = new ArrayList<>(candidates);
        todo.sort(Comparator.comparing(Candidate::held, OLDEST_FIRST));
        List<Skipped> shown = new ArrayList<>(skipped);
        shown.sort(Comparator.comparing(Skipped::held, OLDEST_FIRST));
        List<BulkEntry> replayed = new ArrayList<>();
        if (selection.dryRun()) {
            todo.forEach(c -> replayed.add(new BulkEntry(c.held(), null)));
            return new BulkReplayed(true, replayed, shown, skippedCount[0], remaining[0], true, null);
        }
        String stoppedBecause = null;
        int claimedElsewhere = 0;
        if (!todo.isEmpty()) {
            try (KafkaProducer<String, String> producer = producer()) {
                for (Candidate c : todo) {
                    HeldRecord h = c.held();
                    Optional<ParkedReplay> claim;
                    try {
                        claim = claim(h, actor, false);
                    } catch (RuntimeException e) {
                        stoppedBecause = h.where() + " could not be claimed in scheduler-service's database ("
                                + e.getMessage() + "); stopped there, nothing sent for it";
                        break;
                    }
                    if (claim.isEmpty()) {
                        // another replay took it since this one read the replays
                        skippedCount[0]++;
                        claimedElsewhere++;
                        shown.add(new Skipped(h, SkipCode.ALREADY_REPLAYED, "replayed by another replay while this"
                                + " one ran"));
                        continue;
                    }
                    Replayed copy;
                    try {
                        copy = send(producer, c.record(), h, actor);
                    } catch (ProblemException e) {
                        unclaim(claim.get());
                        stoppedBecause = e.getMessage();
                        break;
                    }
                    replayed.add(new BulkEntry(h, copy));
                    try {
                        recordCopy(claim.get(), copy);
                    } catch (RuntimeException e) {
                        stoppedBecause = h.where() + " was replayed to " + copy.topic() + "-" + copy.partition() + "@"
                                + copy.offset() + " but where the copy went could not be recorded in"
                                + " scheduler-service's database (" + e.getMessage() + "); the replay itself is"
                                + " recorded; stopped there";
                        break;
                    }
                }
            }
        }
        remaining[0] += todo.size() - replayed.size() - claimedElsewhere;
        LOG.infof("%s replayed %d records of %s (%d skipped, %d remaining)%s", actor, replayed.size(), topic,
                skippedCount[0], remaining[0], stoppedBecause == null ? "" : "; stopped: " + stoppedBecause);
        return new BulkReplayed(false, replayed, shown, skippedCount[0], remaining[0], stoppedBecause == null,
                stoppedBecause);
    }

    private record Candidate(HeldRecord held, ConsumerRecord<String, String> record) {
    }

    /** Counts a skipped record and keeps it if it is among the oldest {@value #SKIPPED_SHOWN}. */
    private static void skip(java.util.PriorityQueue<Skipped> skipped, int[] count, Skipped s) {
        count[0]++;
        skipped.add(s);
        if (skipped.size() > SKIPPED_SHOWN) {
            skipped.poll();
        }
    }

    /** What a held record takes in memory, near enough: its value and headers. */
    private static long sizeOf(ConsumerRecord<String, String> r) {
        long n = r.value() == null ? 0 : r.value().length();
        for (Header h : r.headers()) {
            n += h.key().length() + (h.value() == null ? 0 : h.value().length);
        }
        return n;
    }

    private static String notReplayable(HeldRecord h) {
        return h.where() + " came from " + h.originTopic() + ", which is not replayed (replayable: " + REPLAYABLE
                + ")" + (Topics.RECOVERY_COMMANDS.equals(h.originTopic()) ? "; start a new run of the plan instead" : "");
    }

    /** Sends {@code held} to its origin topic as it was, marked with where it was held and who replayed it. */
    private Replayed send(KafkaProducer<String, String> producer, ConsumerRecord<String, String> held, HeldRecord info,
                          String actor) {
        String origin = info.originTopic();
        Headers headers = new RecordHeaders();
        for (Header h : held.headers()) {
            if (!h.key().startsWith("lifeboat-origin-") && !h.key().startsWith("lifeboat-parked-")
                    && !h.key().startsWith("dead-letter-") && !h.key().startsWith("lifeboat-replayed-")) {
                headers.add(h);
            }
        }
        headers.add(REPLAYED_FROM, utf8(info.where()));
        headers.add(REPLAYED_BY, utf8(actor));
        try {
            RecordMetadata sent = producer.send(new ProducerRecord<>(origin, null, held.key(), held.value(), headers))
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            LOG.infof("%s replayed %s (%s) to %s-%d@%d", actor, info.where(), info.eventType(), sent.topic(),
                    sent.partition(), sent.offset());
            return new Replayed(sent.topic(), sent.partition(), sent.offset(), held.key(), info.eventType());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProblemException(503, "Replay interrupted", "replaying " + info.where() + " to " + origin
                    + " was interrupted");
        } catch (Exception e) {
            throw new ProblemException(503, "Replay failed", "sending " + info.where() + " to " + origin + " on "
                    + kafka.get("bootstrap.servers") + " failed within " + timeout + ": " + e.getMessage());
        }
    }

    /** The last replay of each record of {@code topic}, by {@code partition@offset}. */
    private Map<String, ParkedReplay> lastReplays(String topic) {
        List<ParkedReplay> rows = database(() -> Panache.withSession(() -> ParkedReplay
                .<ParkedReplay>list("heldTopic = ?1 order by replayedAt", topic)));
        Map<String, ParkedReplay> last = new HashMap<>();
        rows.forEach(r -> last.put(r.heldPartition + "@" + r.heldOffset, r));
        return last;
    }

    /** The last replay of {@code h}, unless it was of another record at that place (the topic was recreated). */
    private static ParkedReplay lastReplay(Map<String, ParkedReplay> replays, HeldRecord h) {
        ParkedReplay r = replays.get(h.partition() + "@" + h.offset());
        return r == null || (r.heldEventId != null && h.eventId() != null && !r.heldEventId.equals(h.eventId()))
                ? null : r;
    }

    /**
     * Claims the replay of {@code held} before its copy is sent: empty when another replay holds it (the unique
     * index {@code parked_replay_once}; a forced replay is outside it). Two replays at once send a record once.
     */
    private Optional<ParkedReplay> claim(HeldRecord held, String actor, boolean force) {
        ParkedReplay row = new ParkedReplay();
        row.id = UUID.randomUUID();
        row.heldTopic = held.topic();
        row.heldPartition = held.partition();
        row.heldOffset = held.offset();
        row.heldEventId = held.eventId();
        row.replayedAt = Instant.now();
        row.replayedBy = actor;
        row.forced = force;
        try {
            database(() -> Panache.withTransaction(row::persist));
            return Optional.of(row);
        } catch (RuntimeException e) {
            if (uniqueViolation(e)) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** Where the claimed replay's copy went. */
    private void recordCopy(ParkedReplay claim, Replayed copy) {
        database(() -> Panache.withTransaction(() -> ParkedReplay.update("copyTopic = ?1, copyPartition = ?2,"
                + " copyOffset = ?3 where id = ?4", copy.topic(), copy.partition(), copy.offset(), claim.id)));
    }

    /** Gives a claim back after its send failed, so that the record can be replayed; logged when that fails too. */
    private void unclaim(ParkedReplay claim) {
        try {
            database(() -> Panache.withTransaction(() -> ParkedReplay.deleteById(claim.id)));
        } catch (RuntimeException e) {
            LOG.warnf("the claim on %s-%d@%d stays after its send failed (%s): the list shows it replayed without a"
                    + " copy; replay it with force", claim.heldTopic, claim.heldPartition, claim.heldOffset,
                    e.getMessage());
        }
    }

    /** A unique violation (SQLSTATE 23505, as the driver or Hibernate reports it) anywhere on the cause chain. */
    private static boolean uniqueViolation(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof io.vertx.pgclient.PgException pg && "23505".equals(pg.getSqlState())
                    || t instanceof org.hibernate.exception.ConstraintViolationException c
                    && ("23505".equals(c.getSQLState()) || "parked_replay_once".equals(c.getConstraintName()))) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /** Runs a database step from this blocking thread on a Vert.x context, with the replay deadline. */
    private <T> T database(java.util.function.Supplier<Uni<T>> step) {
        try {
            return VertxContextSupport.subscribeAndAwait(() -> step.get().ifNoItem().after(timeout).fail());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** Reads {@code topic} from the offsets {@code start} chooses to its end, within the deadline. */
    private void scan(String topic, java.util.function.BiFunction<KafkaConsumer<String, String>, List<TopicPartition>,
            Map<TopicPartition, Long>> start, java.util.function.Consumer<ConsumerRecord<String, String>> each) {
        try (KafkaConsumer<String, String> consumer = consumer()) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, timeout).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            Map<TopicPartition, Long> from = start.apply(consumer, partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            Map<TopicPartition, Long> remaining = new HashMap<>();
            for (TopicPartition tp : partitions) {
                consumer.seek(tp, from.get(tp));
                if (end.get(tp) > from.get(tp)) {
                    remaining.put(tp, end.get(tp));
                }
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!remaining.isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new ProblemException(504, "Holding topic not read in time", "reading " + topic + " from "
                            + kafka.get("bootstrap.servers") + " took longer than lifeboat.replay.timeout ("
                            + timeout + "); partitions not read to the end: " + remaining.keySet()
                            + "; nothing was replayed");
                }
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    Long stop = remaining.get(tp);
                    if (stop == null || r.offset() >= stop) {
                        continue;
                    }
                    each.accept(r);
                    if (r.offset() + 1 >= stop) {
                        remaining.remove(tp);
                    }
                }
            }
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new ProblemException(503, "Kafka unavailable", "reading " + topic + " from "
                    + kafka.get("bootstrap.servers") + " failed: " + e.getMessage());
        }
    }

    private ConsumerRecord<String, String> read(String topic, int partition, long offset) {
        try (KafkaConsumer<String, String> consumer = consumer()) {
            TopicPartition tp = new TopicPartition(topic, partition);
            consumer.assign(List.of(tp));
            long end = consumer.endOffsets(List.of(tp), timeout).getOrDefault(tp, 0L);
            long begin = consumer.beginningOffsets(List.of(tp), timeout).getOrDefault(tp, 0L);
            if (offset < begin || offset >= end) {
                throw new ProblemException(404, "Held record not found", "no record at " + topic + "-" + partition
                        + "@" + offset + " (the partition holds offsets " + begin + " to " + (end - 1) + ")");
            }
            consumer.seek(tp, offset);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.offset() == offset) {
                        return r;
                    }
                    if (r.offset() > offset) {
                        throw new ProblemException(404, "Held record not found", "no record at " + topic + "-"
                                + partition + "@" + offset + " (compacted or a transaction marker)");
                    }
                }
            }
            throw new ProblemException(504, "Held record not read in time", "reading " + topic + "-" + partition
                    + "@" + offset + " took longer than lifeboat.replay.timeout (" + timeout + ")");
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new ProblemException(503, "Kafka unavailable", "reading " + topic + "-" + partition + "@"
                    + offset + " from " + kafka.get("bootstrap.servers") + " failed: " + e.getMessage());
        }
    }

    /**
     * Where a held record came from and why it is held, from the headers the holding side added. Which side that is
     * follows from the topic it is held on, not from its headers. A dead letter carries every header of the record
     * as it was published after the dead-letter queue's own, so a publisher can add {@code dead-letter-topic} or
     * {@code lifeboat-origin-topic} headers of its own choosing: a held record with more than one such header, or a
     * dead letter with a parking one, names its origin in a way nobody can trust, and is not replayed
     * ({@code originProblem}).
     */
    private static HeldRecord describe(ConsumerRecord<String, String> r) {
        Headers h = r.headers();
        boolean parked = Topics.PARKED.equals(r.topic());
        String routing = parked ? Parking.ORIGIN_TOPIC : "dead-letter-topic";
        int routes = count(h, routing);
        String originProblem = null;
        if (routes > 1 || !parked && count(h, Parking.ORIGIN_TOPIC) > 0) {
            originProblem = r.topic() + "-" + r.partition() + "@" + r.offset() + " carries "
                    + (routes > 1 ? routes + " '" + routing + "' headers" : "a '" + Parking.ORIGIN_TOPIC
                    + "' header on the dead-letter topic") + ": the record as published named an origin of its own,"
                    + " so where it came from cannot be trusted and it is not replayed (republish it by hand if it"
                    + " is genuine)";
        }
        String originTopic = parked ? header(h, Parking.ORIGIN_TOPIC) : header(h, "dead-letter-topic");
        String originPartition = parked ? header(h, Parking.ORIGIN_PARTITION) : header(h, "dead-letter-partition");
        String originOffset = parked ? header(h, Parking.ORIGIN_OFFSET) : header(h, "dead-letter-offset");
        String reason = parked ? header(h, Parking.REASON) : header(h, "dead-letter-reason");
        if (reason != null && reason.length() > REASON_SHOWN) {
            reason = reason.substring(0, REASON_SHOWN) + "... (" + reason.length() + " characters)";
        }
        String attempts = header(h, Parking.ATTEMPTS);
        return new HeldRecord(r.topic(), r.partition(), r.offset(), r.key(), originTopic, integer(originPartition),
                originOffset == null ? null : parseLong(originOffset), reason, integer(attempts),
                header(h, EventCodec.H_TYPE), header(h, EventCodec.H_ID), Instant.ofEpochMilli(r.timestamp()),
                header(h, REPLAYED_FROM), null, null, null, originProblem);
    }

    private static int count(Headers headers, String key) {
        int n = 0;
        for (Header ignored : headers.headers(key)) {
            n++;
        }
        return n;
    }

    private KafkaConsumer<String, String> consumer() {
        Map<String, Object> config = new HashMap<>(kafka);
        config.keySet().removeIf(k -> k.startsWith("group.") || k.equals("client.id"));
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        config.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        config.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        return new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
    }

    private KafkaProducer<String, String> producer() {
        Map<String, Object> config = new HashMap<>(kafka);
        config.keySet().removeIf(k -> k.startsWith("group.") || k.equals("client.id"));
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout.toMillis());
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(timeout.toMillis(), 30_000));
        config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    private static String header(Headers headers, String key) {
        Header h = headers.lastHeader(key);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static Integer integer(String s) {
        try {
            return s == null ? null : Integer.valueOf(s.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Long parseLong(String s) {
        try {
            return Long.valueOf(s.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
