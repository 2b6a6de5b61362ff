package dev.lifeboat.scheduler.service;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.scheduler.config.ReplayConfig;
import dev.lifeboat.scheduler.domain.ParkedReplay;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.VertxContextSupport;
import io.smallrye.mutiny.Uni;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 *
 * <p>Every principal may write the holding topics (each holds its own records), so what a held record says it is
 * proves nothing: a replay sends it only when the record at the origin place it names (topic, partition, offset) is
 * the same record, and then sends that record's headers (see {@link Origins}). A copy sent under this service's
 * principal is thereby one of a record that a principal allowed to write its origin topic published there.
 *
 * <p>A replay claims its record (a {@code parked_replay} row) before the copy is sent and records where the copy went
 * once the broker acknowledged it. A claim whose copy is not recorded is in flight until
 * {@code lifeboat.replay.claim-stale-after}; after that the replay that made it stopped, and the claim is settled by
 * looking for its copy (which names the claim in {@value #REPLAYED_CLAIM}) on the origin topic, among the records
 * stamped from a minute before the claim to {@code lifeboat.replay.claim-stale-after} after it: found, its place is
 * recorded; not found, the claim is released. A claim made before copies named their claim is released without a
 * look. Claims are settled where the list and the replays meet them, and on a timer ({@link ParkedReplayUpkeep}),
 * which also deletes the rows about records the holding topic no longer has.
 */
@ApplicationScoped
public class ParkedRecordService {
    private static final Logger LOG = Logger.getLogger(ParkedRecordService.class);
    public static final String REPLAYED_FROM = "lifeboat-replayed-from";
    public static final String REPLAYED_BY = "lifeboat-replayed-by";
    /** The id of the claim a copy was sent under: how a stale claim's copy is found again. */
    public static final String REPLAYED_CLAIM = "lifeboat-replayed-claim";
    /**
     * Not the saga's commands (a late command is answered past its deadline: a new run is started instead), nor the
     * participants' replies: the topic a reply comes on is the coordinator's proof of who sent it, which a copy sent
     * by this service would not be.
     */
    private static final Set<String> REPLAYABLE = Set.of(Topics.BACKUP_REQUESTED, Topics.BACKUP_EVENTS,
            Topics.RECOVERY_EVENTS);
    /**
     * The trace context: which trace a consumer's spans join, nothing more. The producer that parks or dead-letters a
     * record may write its own, so a held record's need not equal its origin's; a copy carries the origin record's.
     */
    private static final Set<String> TRACE_CONTEXT = Set.of("traceparent", "tracestate", "baggage");
    /**
     * A copy's timestamp is taken after its claim's on the same clock, unless the origin topic stamps records with the
     * broker's clock: the look for a copy starts this much before the claim.
     */
    private static final Duration CLOCK_SKEW = Duration.ofMinutes(1);
    /**
     * The looks for stale claims' copies of one round (a list, a replay, an upkeep round) start no new read after this
     * many times {@code lifeboat.replay.timeout}; the claims they did not come to wait for the next round.
     */
    static final int LOOK_ROUND_TIMEOUTS = 3;
    /** At most this many stale claims are settled by one list, replay or upkeep round; the rest by the next. */
    static final int STALE_PER_ROUND = 100;

    /** Where a held record's last replay stands. */
    public enum ReplayState {
        /** its copy was sent and where it went is recorded ({@code replayedTo}) */
        REPLAYED,
        /** claimed, its copy not acknowledged yet: a replay is sending it */
        IN_FLIGHT,
        /** claimed long ago, its copy never recorded, and the look for it did not finish ({@code replayUnknown}) */
        UNCONFIRMED
    }

    /**
     * Where a record was held and why, as the list shows it, and when and by whom it was last replayed, where that
     * replay stands and where its copy went.
     */
    public record HeldRecord(String topic, int partition, long offset, String key, String originTopic,
                             Integer originPartition, Long originOffset, String reason, Integer attempts,
                             String eventType, String eventId, Instant heldAt, String replayedFrom,
                             Instant replayedAt, String replayedBy, String replayUnknown, String originProblem,
                             ReplayState replayState, String replayedTo) {
        HeldRecord replayed(ParkedReplay last, ReplayState state, String unconfirmed) {
            return last == null ? this : new HeldRecord(topic, partition, offset, key, originTopic, originPartition,
                    originOffset, reason, attempts, eventType, eventId, heldAt, replayedFrom, last.replayedAt,
                    last.replayedBy, state == ReplayState.UNCONFIRMED ? unconfirmed : null, originProblem, state,
                    last.copyTopic == null ? null : last.copy());
        }

        /** The record as listed while the replays cannot be read: {@code why} says so instead of "never replayed". */
        HeldRecord replayUnknown(String why) {
            return new HeldRecord(topic, partition, offset, key, originTopic, originPartition, originOffset, reason,
                    attempts, eventType, eventId, heldAt, replayedFrom, null, null, why, originProblem, null, null);
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
    public enum SkipCode {
        ALREADY_REPLAYED, REPLAY_IN_FLIGHT, REPLAY_UNCONFIRMED, ORIGIN_UNKNOWN, ORIGIN_NOT_REPLAYABLE, ORIGIN_FORGED,
        /** the origin partition or offset header is missing, repeated or not a number */
        ORIGIN_PLACE_INVALID,
        /** the origin topic no longer has a record at that offset (retention, compaction, a recreated topic) */
        ORIGIN_GONE,
        /** the origin topic never had a record at that place (forged, or the topic was recreated since) */
        ORIGIN_NOT_FOUND,
        /** the record at that place is another one (forged or altered, or the topic was recreated since) */
        ORIGIN_DIFFERS
    }

    /** A record of a bulk replay: the held record and its copy (null in a dry run: nothing was sent). */
    public record BulkEntry(HeldRecord held, Replayed copy) {
    }

    /** A matching record a bulk replay left alone, and why. */
    public record Skipped(HeldRecord held, SkipCode code, String reason) {
    }

    /**
     * What a bulk replay did: {@code replayed} oldest first (in a dry run: what it would replay), the matching
     * records it {@code skipped} (the first {@value #SKIPPED_SHOWN}; {@code skippedCount} counts them all),
     * {@code remaining}: matching records still to replay (past the limit, past the held records one run keeps in
     * memory, or not reached when it stopped), {@code remainingBecause} says which and where the next run starts.
     * {@code complete} false means it stopped part-way, for the reason in {@code stoppedBecause}.
     */
    public record BulkReplayed(boolean dryRun, List<BulkEntry> replayed, List<Skipped> skipped, int skippedCount,
                               int remaining, boolean complete, String stoppedBecause, String remainingBecause) {
    }

    /** What one upkeep round of a holding topic did. */
    public record Upkept(String topic, int purged, int recorded, int released, int unconfirmed) {
    }

    /** What a look for a stale claim's copy found. */
    sealed interface Settled {
        /** the copy, now recorded */
        record Found(Replayed copy) implements Settled {
        }

        /** no copy reached the origin topic ({@code why} says where it was looked for): the claim is released */
        record Absent(String why) implements Settled {
        }

        /** not known: the look did not finish, or its outcome could not be written down */
        record Unknown(String why) implements Settled {
        }

        /** not looked for: the round's looks ran out of time before they came to it; the next round does */
        record Postponed(String why) implements Settled {
        }
    }

    /** The replays of a holding topic as read: the last of each record, and why the stale claims among them stand. */
    private record Replays(Map<String, ParkedReplay> last, Map<UUID, String> unconfirmed) {
        static final Replays NONE = new Replays(Map.of(), Map.of());
    }

    static final int SKIPPED_SHOWN = 1000;
    /** A held record's reason is shown up to this many characters (a dead letter's comes with the record). */
    static final int REASON_SHOWN = 2000;
    private static final Comparator<HeldRecord> OLDEST_FIRST = Comparator.comparing(HeldRecord::heldAt,
                    Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(HeldRecord::partition).thenComparing(HeldRecord::offset);

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    @Inject
    ReplayConfig config;

    Duration timeout;

    @jakarta.annotation.PostConstruct
    void init() {
        timeout = config.timeout();
    }

    /** Refuses to start with a stale bound that a replay still sending its copy could pass. */
    void checkClaimBound(@Observes StartupEvent event) {
        Duration least = config.timeout().multipliedBy(5);
        if (config.claimStaleAfter().compareTo(least) < 0) {
            throw new IllegalStateException("lifeboat.replay.claim-stale-after (" + config.claimStaleAfter()
                    + ") must be at least five times lifeboat.replay.timeout (" + config.timeout() + "), " + least
                    + ": a claim younger than that may belong to a replay still sending its copy");
        }
    }

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
        Replays[] known = {Replays.NONE};
        String[] unknown = {null};
        List<HeldRecord> held = new ArrayList<>();
        scan(topic, (consumer, partitions) -> {
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions, timeout);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            Map<TopicPartition, Long> start = new HashMap<>();
            partitions.forEach(tp -> start.put(tp, Math.max(begin.get(tp), end.get(tp) - limit)));
            // the list is what an operator reads during an outage: it does not wait for the database that remembers
            // replays, it says per record that whether it was replayed is not known
            try {
                known[0] = replays(topic, start, begin);
            } catch (RuntimeException e) {
                unknown[0] = "not known: scheduler-service's database, which remembers replays, did not answer ("
                        + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()) + ")";
                LOG.warnf("listing %s without the replays: %s", topic, unknown[0]);
            }
            return start;
        }, r -> {
            HeldRecord h = describe(r);
            held.add(unknown[0] != null ? h.replayUnknown(unknown[0]) : withLastReplay(h, known[0]));
        });
        held.sort(OLDEST_FIRST);
        return held;
    }

    /**
     * Sends the held record at {@code partition}/{@code offset} back to its origin topic and records the replay.
     * A record replayed before, or being replayed, is refused (409 naming when and by whom) unless {@code force}; one
     * that is not the record at the origin place it names, or whose origin record cannot be read any more, is refused
     * with 422 saying which, forced or not.
     */
    @WithSpan("ParkedRecordService.replay")
    public Replayed replay(String from, int partition, long offset, String actor, boolean force) {
        String topic = topicOf(from);
        ConsumerRecord<String, String> held = read(topic, partition, offset);
        HeldRecord info = withLastReplay(describe(held), replaysOf(topic, partition, offset));
        if (info.replayState() != null && !force) {
            throw switch (info.replayState()) {
                case REPLAYED -> new ProblemException(409, "Already replayed", info.where() + " was replayed at "
                        + info.replayedAt() + " by " + info.replayedBy() + " to " + info.replayedTo()
                        + "; send \"force\": true to replay it again");
                case IN_FLIGHT -> new ProblemException(409, "Replay in flight", info.where() + " is being replayed: "
                        + inFlight(info));
                case UNCONFIRMED -> new ProblemException(409, "Replay unconfirmed", info.where() + " "
                        + unconfirmed(info));
            };
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
        Origin checked;
        try (Origins origins = new Origins()) {
            checked = origins.check(info, held);
        }
        if (checked instanceof Origin.Refused refused) {
            throw new ProblemException(422, refused.title(), refused.why());
        }
        Headers originHeaders = ((Origin.Same) checked).headers();
        ParkedReplay claim = claim(info, actor, force).orElseThrow(() -> new ProblemException(409,
                "Already replayed", info.where() + " was replayed by another request just now; send \"force\": true"
                + " to replay it again"));
        try (KafkaProducer<String, String> producer = producer()) {
            Replayed copy;
            try {
                copy = send(producer, held, originHeaders, info, actor, claim.id);
            } catch (ProblemException e) {
                AfterFailedSend after = afterFailedSend(producer, claim);
                if (after.copy() == null) {
                    throw new ProblemException(e.status(), e.title(), e.getMessage() + after.note());
                }
                return after.copy();
            }
            try {
                recordCopy(claim, copy);
            } catch (RuntimeException e) {
                throw new ProblemException(503, "Replay not recorded", info.where() + " was replayed to "
                        + copy.topic() + "-" + copy.partition() + "@" + copy.offset() + " but where the copy went"
                        + " could not be recorded in scheduler-service's database (" + e.getMessage() + "); the"
                        + " replay is claimed, and its copy is looked for and recorded once the claim is older than"
                        + " lifeboat.replay.claim-stale-after (" + config.claimStaleAfter() + ")");
            }
            return copy;
        }
    }

    /**
     * Replays the held records the selection matches that were not replayed yet and whose origin is replayable,
     * oldest first, at most {@code limit}; one at a time, each recorded before the next is sent. Those taken are first
     * compared with the records at their origin places (a dry run too, so that it lists what would really go): one
     * that is not the record there, or whose origin record is gone, is skipped. A comparison, send or record that
     * fails stops the run: the answer says what was done until then and why it stopped.
     */
    @WithSpan("ParkedRecordService.replayAll")
    public BulkReplayed replayAll(Selection selection, String actor) {
        String topic = topicOf(selection.from());
        long maxBytes = config.maxHeldBytes().asLongValue();
        Replays[] replays = {Replays.NONE};
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
        boolean[] pastBytes = {false};
        // the oldest record pushed out: where the next run starts (every one kept is older than every one pushed out)
        HeldRecord[] firstLeft = {null};
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
            replays[0] = replays(topic, start, begin);
            return start;
        }, r -> {
            HeldRecord h = describe(r);
            if (!selection.matches(h)) {
                return;
            }
            h = withLastReplay(h, replays[0]);
            if (h.replayState() == ReplayState.REPLAYED) {
                skip(skipped, skippedCount, new Skipped(h, SkipCode.ALREADY_REPLAYED, "replayed at "
                        + h.replayedAt() + " by " + h.replayedBy() + " to " + h.replayedTo()));
            } else if (h.replayState() == ReplayState.IN_FLIGHT) {
                skip(skipped, skippedCount, new Skipped(h, SkipCode.REPLAY_IN_FLIGHT, inFlight(h)));
            } else if (h.replayState() == ReplayState.UNCONFIRMED) {
                skip(skipped, skippedCount, new Skipped(h, SkipCode.REPLAY_UNCONFIRMED, unconfirmed(h)));
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
                        || candidateBytes[0] > maxBytes && candidates.size() > 1) {
                    pastBytes[0] |= candidates.size() <= selection.limit();
                    Candidate left = candidates.poll();
                    candidateBytes[0] -= sizeOf(left.record());
                    remaining[0]++;
                    if (firstLeft[0] == null || OLDEST_FIRST.compare(left.held(), firstLeft[0]) < 0) {
                        firstLeft[0] = left.held();
                    }
                }
            }
        });
        List<Candidate> todo = new ArrayList<>(candidates);
        todo.sort(Comparator.comparing(Candidate::held, OLDEST_FIRST));
        List<Checked> checked = new ArrayList<>();
        int refused = 0;
        String stoppedBecause = null;
        if (!todo.isEmpty()) {
            try (Origins origins = new Origins()) {
                for (Candidate c : todo) {
                    Origin o;
                    try {
                        o = origins.check(c.held(), c.record());
                    } catch (ProblemException e) {
                        stoppedBecause = c.held().where() + " could not be compared with the record at its origin ("
                                + e.getMessage() + "); stopped there, nothing sent for it or the records after it";
                        break;
                    }
                    if (o instanceof Origin.Refused r) {
                        skip(skipped, skippedCount, new Skipped(c.held(), r.code(), r.why()));
                        refused++;
                    } else {
                        checked.add(new Checked(c.held(), c.record(), ((Origin.Same) o).headers()));
                    }
                }
            }
        }
        List<Skipped> shown = new ArrayList<>(skipped);
        shown.sort(Comparator.comparing(Skipped::held, OLDEST_FIRST));
        String remainingBecause = remaining[0] == 0 ? null : remaining[0] + " matching record(s) left for the next run,"
                + " past " + (pastBytes[0] ? "the held records one run keeps in memory (lifeboat.replay.max-held-bytes, "
                + config.maxHeldBytes().asLongValue() + " bytes)" : "the limit of " + selection.limit())
                + "; the next run starts with " + firstLeft[0].where() + " held at " + firstLeft[0].heldAt();
        // and those not compared with their origin when the comparison stopped (stoppedBecause says why)
        remaining[0] += todo.size() - refused - checked.size();
        List<BulkEntry> replayed = new ArrayList<>();
        if (selection.dryRun()) {
            checked.forEach(c -> replayed.add(new BulkEntry(c.held(), null)));
            return new BulkReplayed(true, replayed, shown, skippedCount[0], remaining[0], stoppedBecause == null,
                    stoppedBecause, remainingBecause);
        }
        int claimedElsewhere = 0;
        if (!checked.isEmpty()) {
            try (KafkaProducer<String, String> producer = producer()) {
                for (Checked c : checked) {
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
                        copy = send(producer, c.record(), c.originHeaders(), h, actor, claim.get().id);
                    } catch (ProblemException e) {
                        AfterFailedSend after = afterFailedSend(producer, claim.get());
                        if (after.copy() != null) {
                            replayed.add(new BulkEntry(h, after.copy()));
                        }
                        stoppedBecause = e.getMessage() + after.note();
                        break;
                    }
                    replayed.add(new BulkEntry(h, copy));
                    try {
                        recordCopy(claim.get(), copy);
                    } catch (RuntimeException e) {
                        stoppedBecause = h.where() + " was replayed to " + copy.topic() + "-" + copy.partition() + "@"
                                + copy.offset() + " but where the copy went could not be recorded in"
                                + " scheduler-service's database (" + e.getMessage() + "); the replay is claimed,"
                                + " and its copy is looked for and recorded once the claim is older than"
                                + " lifeboat.replay.claim-stale-after (" + config.claimStaleAfter() + "); stopped"
                                + " there";
                        break;
                    }
                }
            }
        }
        remaining[0] += checked.size() - replayed.size() - claimedElsewhere;
        LOG.infof("%s replayed %d records of %s (%d skipped, %d remaining)%s", actor, replayed.size(), topic,
                skippedCount[0], remaining[0], stoppedBecause == null ? "" : "; stopped: " + stoppedBecause);
        return new BulkReplayed(false, replayed, shown, skippedCount[0], remaining[0], stoppedBecause == null,
                stoppedBecause, remainingBecause);
    }

    private record Candidate(HeldRecord held, ConsumerRecord<String, String> record) {
    }

    /** A candidate found equal to the record at its origin place, and that record's headers, which its copy carries. */
    private record Checked(HeldRecord held, ConsumerRecord<String, String> record, Headers originHeaders) {
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

    private String inFlight(HeldRecord h) {
        return "claimed at " + h.replayedAt() + " by " + h.replayedBy() + ", its copy not acknowledged yet; if that"
                + " replay stopped, the claim is settled once it is older than lifeboat.replay.claim-stale-after ("
                + config.claimStaleAfter() + "): its copy recorded if it reached " + h.originTopic() + ", the claim"
                + " released if not; send \"force\": true to replay it anyway";
    }

    private static String unconfirmed(HeldRecord h) {
        return "was claimed at " + h.replayedAt() + " by " + h.replayedBy() + " but its copy was never recorded, and"
                + " whether it reached " + h.originTopic() + " is not known yet (" + h.replayUnknown() + "); it is"
                + " looked for again by the next list, replay or upkeep round; send \"force\": true to replay it"
                + " anyway (it may then reach " + h.originTopic() + " twice)";
    }

    private static String notReplayable(HeldRecord h) {
        return h.where() + " came from " + h.originTopic() + ", which is not replayed (replayable: " + REPLAYABLE
                + ")" + (Topics.RECOVERY_COMMANDS.equals(h.originTopic()) ? "; start a new run of the plan instead"
                : Topics.RECOVERY_REPLIES.contains(h.originTopic()) ? "; a reply is taken only as its participant sent"
                + " it: the run's step timed out meanwhile, so start a new run of the plan if it failed" : "");
    }

    /**
     * Sends {@code held} to its origin topic as it was there: its key and value (equal to the origin record's) with the
     * origin record's headers ({@code originHeaders}), marked with where it was held, who replayed it and under which
     * claim.
     */
    private Replayed send(KafkaProducer<String, String> producer, ConsumerRecord<String, String> held,
                          Headers originHeaders, HeldRecord info, String actor, UUID claim) {
        String origin = info.originTopic();
        Headers headers = new RecordHeaders();
        for (Header h : originHeaders) {
            if (carried(h)) {
                headers.add(h);
            }
        }
        headers.add(REPLAYED_FROM, utf8(info.where()));
        headers.add(REPLAYED_BY, utf8(actor));
        headers.add(REPLAYED_CLAIM, utf8(claim.toString()));
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

    /**
     * Whether a header of a held or origin record goes with a copy: not those the holding side added (where the record
     * came from, why it is held), nor those of an earlier replay (the copy gets its own).
     */
    private static boolean carried(Header h) {
        return !h.key().startsWith("lifeboat-origin-") && !h.key().startsWith("lifeboat-parked-")
                && !h.key().startsWith("dead-letter-") && !h.key().startsWith("lifeboat-replayed-");
    }

    /** What a held record's origin place holds, compared with the held record. */
    sealed interface Origin {
        /** the same record: its headers are what the copy carries */
        record Same(Headers headers) implements Origin {
        }

        /** not replayed: {@code code} in a bulk replay, {@code title} and {@code why} in a 422 */
        record Refused(SkipCode code, String title, String why) implements Origin {
        }
    }

    /**
     * Reads the records at the origin places that held records name and compares them: one consumer for any number of
     * held records, assigned every partition of each origin topic it meets (their first and end offsets read once),
     * all paused but the one it reads, sought to each place in turn, each read within {@code lifeboat.replay.timeout}.
     *
     * <p>The same record is the same key and value bytes (those a copy sends) and the same headers the copy carries,
     * each header name with the same values in the same order, except the {@link #TRACE_CONTEXT}. The headers count:
     * the consumers trust the CloudEvents ones (the type decides how the value is read, the id is the idempotency key,
     * the source and time are recorded), and a held record with a genuine value under a type or id of a forger's
     * choosing would be a forged event. A record replayed before and held again names its copy's place, whose record
     * is equal to it.
     */
    private final class Origins implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer = byteConsumer();
        private final Map<String, Integer> partitionCounts = new HashMap<>();
        private final Set<TopicPartition> assigned = new java.util.HashSet<>();
        private final Map<TopicPartition, Long> begin = new HashMap<>();
        private final Map<TopicPartition, Long> end = new HashMap<>();

        /**
         * {@code info}'s origin record compared with {@code held}; a read that fails or passes the deadline is a 503 or
         * 504 {@link ProblemException}.
         */
        Origin check(HeldRecord info, ConsumerRecord<String, String> held) {
            String topic = info.originTopic();
            boolean parked = Topics.PARKED.equals(held.topic());
            String partitionHeader = parked ? Parking.ORIGIN_PARTITION : "dead-letter-partition";
            String offsetHeader = parked ? Parking.ORIGIN_OFFSET : "dead-letter-offset";
            String invalid = invalidPlace(held.headers(), partitionHeader, info.originPartition())
                    + invalidPlace(held.headers(), offsetHeader, info.originOffset());
            if (!invalid.isEmpty()) {
                return new Origin.Refused(SkipCode.ORIGIN_PLACE_INVALID, "Origin place invalid", info.where()
                        + " names no place on " + topic + " it can be compared with (" + invalid.substring(2)
                        + "), so whether it is the record published there cannot be told; not replayed (check it and"
                        + " republish it by hand if it is genuine)");
            }
            int partition = info.originPartition();
            long offset = info.originOffset();
            String place = topic + "-" + partition + "@" + offset;
            try {
                int partitions = partitionCounts.computeIfAbsent(topic, this::assign);
                if (partition >= partitions) {
                    return new Origin.Refused(SkipCode.ORIGIN_NOT_FOUND, "Origin record not found", info.where()
                            + " names " + place + ", but " + topic + " has " + partitions + " partition(s): no record"
                            + " was ever there; forged, or the topic was recreated since it was held; not replayed");
                }
                TopicPartition tp = new TopicPartition(topic, partition);
                if (offset >= end.get(tp)) {
                    return new Origin.Refused(SkipCode.ORIGIN_NOT_FOUND, "Origin record not found", info.where()
                            + " names " + place + ", but " + tp + " has only had offsets below " + end.get(tp)
                            + ": no record was ever there; forged, or the topic was recreated since it was held; not"
                            + " replayed");
                }
                if (offset < begin.get(tp)) {
                    return gone(info, place, tp + " now starts at offset " + begin.get(tp));
                }
                consumer.seek(tp, offset);
                consumer.resume(List.of(tp));
                try {
                    long deadline = System.nanoTime() + timeout.toNanos();
                    while (System.nanoTime() < deadline) {
                        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                            if (r.offset() > offset) {
                                return gone(info, place, "the partition has no record at that offset any more"
                                        + " (compacted away, or a transaction marker)");
                            }
                            if (r.offset() == offset) {
                                return compare(info, held, r, place);
                            }
                        }
                    }
                } finally {
                    consumer.pause(List.of(tp));
                }
                throw new ProblemException(504, "Origin record not read in time", "reading " + place + " (the"
                        + " origin of " + info.where() + ") took longer than lifeboat.replay.timeout (" + timeout
                        + "); nothing was replayed");
            } catch (org.apache.kafka.clients.consumer.OffsetOutOfRangeException e) {
                // retention took it between the offsets read above and the fetch
                return gone(info, place, "retention deleted it while it was being read");
            } catch (org.apache.kafka.common.KafkaException e) {
                throw new ProblemException(503, "Kafka unavailable", "reading " + place + " (the origin of "
                        + info.where() + ") from " + kafka.get("bootstrap.servers") + " failed: " + e.getMessage()
                        + "; nothing was replayed");
            }
        }

        /**
         * Adds every partition of {@code topic} to the assignment, paused and at its first offset (with no offset
         * reset, a partition without a position would fail every poll); how many it has. The end offsets are read
         * once: every genuine origin offset is below the end read after its record was held.
         */
        private int assign(String topic) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, timeout).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            assigned.addAll(partitions);
            consumer.assign(assigned);
            consumer.pause(assigned);
            begin.putAll(consumer.beginningOffsets(partitions, timeout));
            end.putAll(consumer.endOffsets(partitions, timeout));
            partitions.forEach(tp -> consumer.seek(tp, begin.get(tp)));
            return partitions.size();
        }

        @Override
        public void close() {
            consumer.close(timeout);
        }
    }

    /**
     * "; {@code name} missing" (or repeated, or not a number) when {@code parsed}, the held record's origin partition
     * or offset read from the header {@code name}, is not one place; "" when it is.
     */
    private static String invalidPlace(Headers headers, String name, Number parsed) {
        int n = count(headers, name);
        if (n == 0) {
            return "; " + name + " missing";
        }
        if (n > 1) {
            return "; " + n + " '" + name + "' headers";
        }
        if (parsed == null || parsed.longValue() < 0) {
            String value = header(headers, name);
            return "; " + name + " '" + (value == null ? "" : value.length() > 40 ? value.substring(0, 40) + "..."
                    : value) + "' is not a partition or offset";
        }
        return "";
    }

    private static Origin gone(HeldRecord info, String place, String why) {
        return new Origin.Refused(SkipCode.ORIGIN_GONE, "Origin record gone", info.where() + " cannot be compared"
                + " with the record at its origin " + place + ": " + why + " (retention deleted it, or the topic was"
                + " recreated; a record held longer than its origin topic keeps records is no longer replayed by this"
                + " tool); not replayed: check it and republish it by hand if it is genuine");
    }

    /** {@link Origin.Same} when {@code origin} is the record {@code held} is a copy of, else what differs. */
    private static Origin compare(HeldRecord info, ConsumerRecord<String, String> held,
                                  ConsumerRecord<byte[], byte[]> origin, String place) {
        List<String> differ = new ArrayList<>();
        if (!java.util.Arrays.equals(held.key() == null ? null : utf8(held.key()), origin.key())) {
            differ.add("key");
        }
        if (!java.util.Arrays.equals(held.value() == null ? null : utf8(held.value()), origin.value())) {
            differ.add("value");
        }
        Map<String, List<byte[]>> heldHeaders = compared(held.headers());
        Map<String, List<byte[]>> originHeaders = compared(origin.headers());
        java.util.SortedSet<String> names = new java.util.TreeSet<>(heldHeaders.keySet());
        names.addAll(originHeaders.keySet());
        for (String name : names) {
            List<byte[]> a = heldHeaders.getOrDefault(name, List.of());
            List<byte[]> b = originHeaders.getOrDefault(name, List.of());
            boolean same = a.size() == b.size();
            for (int i = 0; same && i < a.size(); i++) {
                same = java.util.Arrays.equals(a.get(i), b.get(i));
            }
            if (!same) {
                differ.add("header " + name);
            }
        }
        if (!differ.isEmpty()) {
            return new Origin.Refused(SkipCode.ORIGIN_DIFFERS, "Not the record at its origin", info.where()
                    + " is not the record at its origin " + place + " (" + String.join(", ", differ) + " differ):"
                    + " forged or altered, or the topic was recreated since it was held; not replayed");
        }
        return new Origin.Same(origin.headers());
    }

    /** The headers a copy carries, less the trace context, by name, each name's values in order. */
    private static Map<String, List<byte[]>> compared(Headers headers) {
        Map<String, List<byte[]>> byName = new HashMap<>();
        for (Header h : headers) {
            if (carried(h) && !TRACE_CONTEXT.contains(h.key())) {
                byName.computeIfAbsent(h.key(), k -> new ArrayList<>()).add(h.value());
            }
        }
        return byName;
    }

    /** The last replay of {@code h} with where it stands, unless it was of another record at that place. */
    private HeldRecord withLastReplay(HeldRecord h, Replays replays) {
        ParkedReplay last = replays.last().get(h.partition() + "@" + h.offset());
        if (last == null || (last.heldEventId != null && h.eventId() != null && !last.heldEventId.equals(h.eventId()))) {
            // never replayed, or the replay was of another record at that place (the topic was recreated)
            return h;
        }
        ReplayState state = last.copyTopic != null ? ReplayState.REPLAYED
                : stale(last) ? ReplayState.UNCONFIRMED : ReplayState.IN_FLIGHT;
        return h.replayed(last, state, replays.unconfirmed().getOrDefault(last.id, "not looked for yet: more than "
                + STALE_PER_ROUND + " stale claims were met at once"));
    }

    /** A claim whose copy is not recorded, made longer ago than any replay holds one: the replay stopped. */
    private boolean stale(ParkedReplay row) {
        return row.copyTopic == null && row.replayedAt.isBefore(Instant.now().minus(config.claimStaleAfter()));
    }

    /**
     * The replays of the records of {@code topic} at or above the offsets {@code from} (rows about older records are
     * not read), their stale claims settled first; then one batch of rows about records below {@code begin}, which
     * the topic no longer has, is deleted.
     */
    private Replays replays(String topic, Map<TopicPartition, Long> from, Map<TopicPartition, Long> begin) {
        // read first: while the database is away the list says so after one deadline, not two
        Replays replays = settled(() -> rowsFrom(topic, from));
        try {
            purge(topic, begin, 1);
        } catch (RuntimeException e) {
            LOG.warnf("rows about records %s no longer has stay for the next round: %s", topic, e.getMessage());
        }
        return replays;
    }

    /** The replays of the one record {@code topic}-{@code partition}@{@code offset}, its stale claims settled. */
    private Replays replaysOf(String topic, int partition, long offset) {
        return settled(() -> database(() -> Panache.withSession(() -> ParkedReplay.<ParkedReplay>list(
                "heldTopic = ?1 and heldPartition = ?2 and heldOffset = ?3 order by replayedAt, id", topic, partition,
                offset))));
    }

    /** The rows {@code read} returns, read again after their stale claims were settled; the last of each record. */
    private Replays settled(java.util.function.Supplier<List<ParkedReplay>> read) {
        List<ParkedReplay> rows = read.get();
        List<ParkedReplay> stale = rows.stream().filter(this::stale).limit(STALE_PER_ROUND).toList();
        Map<UUID, String> unconfirmed = new HashMap<>();
        if (!stale.isEmpty()) {
            Map<UUID, Settled> outcome = settle(stale);
            outcome.forEach((id, s) -> {
                if (s instanceof Settled.Unknown u) {
                    unconfirmed.put(id, u.why());
                } else if (s instanceof Settled.Postponed p) {
                    unconfirmed.put(id, p.why());
                }
            });
            if (unconfirmed.size() < outcome.size()) {
                rows = read.get();
            }
        }
        Map<String, ParkedReplay> last = new HashMap<>();
        rows.forEach(r -> last.put(r.heldPartition + "@" + r.heldOffset, r));
        return new Replays(last, unconfirmed);
    }

    /** The rows of {@code topic} about records at or above {@code from} in their partition, oldest first. */
    private List<ParkedReplay> rowsFrom(String topic, Map<TopicPartition, Long> from) {
        if (from.isEmpty()) {
            return List.of();
        }
        StringBuilder query = new StringBuilder("heldTopic = :topic and (");
        Map<String, Object> params = new HashMap<>();
        params.put("topic", topic);
        int i = 0;
        for (Map.Entry<TopicPartition, Long> e : from.entrySet()) {
            query.append(i == 0 ? "" : " or ").append("(heldPartition = :p").append(i).append(" and heldOffset >= :o")
                    .append(i).append(")");
            params.put("p" + i, e.getKey().partition());
            params.put("o" + i, e.getValue());
            i++;
        }
        query.append(") order by replayedAt, id");
        return database(() -> Panache.withSession(() -> ParkedReplay.<ParkedReplay>list(query.toString(), params)));
    }

    /**
     * Deletes the rows about records of {@code topic} below {@code begin} (retention or deleteRecords took them: they
     * can never be listed or replayed again), {@code lifeboat.replay.purge-batch} per statement, at most
     * {@code batches} statements per partition; how many it deleted.
     */
    private int purge(String topic, Map<TopicPartition, Long> begin, int batches) {
        int batch = config.purgeBatch();
        int purged = 0;
        for (Map.Entry<TopicPartition, Long> e : begin.entrySet()) {
            for (int i = 0; i < batches; i++) {
                List<UUID> ids = database(() -> Panache.withSession(() -> ParkedReplay.<ParkedReplay>find(
                                "heldTopic = ?1 and heldPartition = ?2 and heldOffset < ?3", topic,
                                e.getKey().partition(), e.getValue()).page(0, batch).list()))
                        .stream().map(r -> r.id).toList();
                if (ids.isEmpty()) {
                    break;
                }
                purged += database(() -> Panache.withTransaction(() -> ParkedReplay.delete("id in ?1", ids)))
                        .intValue();
                if (ids.size() < batch) {
                    break;
                }
            }
        }
        if (purged > 0) {
            LOG.infof("deleted %d replay rows about records %s no longer has (below offsets %s)", purged, topic, begin);
        }
        return purged;
    }

    /**
     * Where the next upkeep round of each holding topic goes on settling stale claims (their time): a round takes the
     * {@value #STALE_PER_ROUND} oldest from there, so claims that stay unconfirmed round after round do not keep the
     * newer ones from being looked at. Back to the oldest once a round came to the newest.
     */
    private final Map<String, Instant> upkeepFrom = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * One upkeep round of the holding topic {@code from}: deletes every row about a record it no longer has, then
     * settles {@value #STALE_PER_ROUND} stale claims, oldest first from where the last round stopped.
     */
    @WithSpan("ParkedRecordService.upkeep")
    public Upkept upkeep(String from) {
        String topic = topicOf(from);
        Map<TopicPartition, Long> begin;
        try (KafkaConsumer<String, String> consumer = consumer()) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, timeout).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            begin = consumer.beginningOffsets(partitions, timeout);
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new ProblemException(503, "Kafka unavailable", "reading the earliest offsets of " + topic + " from "
                    + kafka.get("bootstrap.servers") + " failed: " + e.getMessage());
        }
        // bounded: a round deletes at most this many rows per partition, the next round goes on
        int purged = purge(topic, begin, 100);
        Instant staleBefore = Instant.now().minus(config.claimStaleAfter());
        Instant since = upkeepFrom.getOrDefault(topic, Instant.EPOCH);
        List<ParkedReplay> stale = database(() -> Panache.withSession(() -> ParkedReplay.<ParkedReplay>find(
                "heldTopic = ?1 and copyTopic is null and replayedAt < ?2 and replayedAt >= ?3 order by replayedAt, id",
                topic, staleBefore, since).page(0, STALE_PER_ROUND).list()));
        Map<UUID, Settled> outcome = stale.isEmpty() ? Map.of() : settle(stale);
        Optional<Instant> postponed = stale.stream().filter(c -> outcome.get(c.id) instanceof Settled.Postponed)
                .map(c -> c.replayedAt).findFirst();
        if (postponed.isPresent()) {
            upkeepFrom.put(topic, postponed.get());
        } else if (stale.size() == STALE_PER_ROUND) {
            // the database keeps microseconds: the next round starts after the last claim of this one
            upkeepFrom.put(topic, stale.get(stale.size() - 1).replayedAt.plus(1, java.time.temporal.ChronoUnit.MICROS));
        } else {
            upkeepFrom.remove(topic);
        }
        Upkept done = new Upkept(topic, purged,
                (int) outcome.values().stream().filter(s -> s instanceof Settled.Found).count(),
                (int) outcome.values().stream().filter(s -> s instanceof Settled.Absent).count(),
                (int) outcome.values().stream().filter(s -> s instanceof Settled.Unknown
                        || s instanceof Settled.Postponed).count());
        if (purged + outcome.size() > 0) {
            LOG.infof("replays of %s kept up: %s", topic, done);
        }
        return done;
    }

    /**
     * Settles stale claims: looks for each one's copy on the topic it was sent to; a copy found is recorded, a claim
     * without one is released. What could not be told, or written down, stays as it was ({@link Settled.Unknown}).
     */
    private Map<UUID, Settled> settle(List<ParkedReplay> claims) {
        Map<UUID, Settled> outcome = lookForCopies(claims);
        for (ParkedReplay c : claims) {
            Settled s = outcome.get(c.id);
            try {
                if (s instanceof Settled.Found f) {
                    recordCopy(c, f.copy());
                    LOG.infof("the replay of %s claimed at %s by %s was never recorded; its copy was found at %s-%d@%d"
                                    + " and is now", c.held(), c.replayedAt, c.replayedBy, f.copy().topic(),
                            f.copy().partition(), f.copy().offset());
                } else if (s instanceof Settled.Absent a) {
                    database(() -> Panache.withTransaction(() -> ParkedReplay.delete(
                            "id = ?1 and copyTopic is null", c.id)));
                    LOG.infof("the replay of %s claimed at %s by %s is released, the record can be replayed: %s",
                            c.held(), c.replayedAt, c.replayedBy, a.why());
                } else if (s instanceof Settled.Unknown u) {
                    LOG.warnf("the replay of %s claimed at %s by %s stays unconfirmed: %s", c.held(), c.replayedAt,
                            c.replayedBy, u.why());
                } else if (s instanceof Settled.Postponed p) {
                    LOG.debugf("the replay of %s claimed at %s: %s", c.held(), c.replayedAt, p.why());
                }
            } catch (RuntimeException e) {
                outcome.put(c.id, new Settled.Unknown("its outcome (" + s + ") could not be written to"
                        + " scheduler-service's database: " + e.getMessage()));
            }
        }
        return outcome;
    }

    /**
     * Looks for the copies of {@code claims} on the topics they were sent to, each within its window (from
     * {@link #CLOCK_SKEW} before the claim to {@code lifeboat.replay.claim-stale-after} after it, plus that skew: a
     * copy is sent right after its claim, within {@code lifeboat.replay.timeout}). Claims whose windows overlap share
     * one read, bounded by the replay deadline and {@code lifeboat.replay.claim-check-max-records}; a read that stops
     * there leaves unconfirmed only the oldest claim whose window it did not finish, and the newer ones are read on
     * their own.
     *
     * <p>A claim made before copies named their claim (it names no origin) is released without a look: its copy could
     * only be matched by {@value #REPLAYED_FROM} and {@value #REPLAYED_BY}, which anyone allowed to publish to the
     * origin topic can write, and a record wrongly taken for replayed would never be replayed. Released, the record
     * can be replayed again; if that claim's copy did go out, the record then reaches its origin topic twice, which
     * the consumers' idempotency guards absorb.
     */
    private Map<UUID, Settled> lookForCopies(List<ParkedReplay> claims) {
        Map<UUID, Settled> outcome = new HashMap<>();
        Map<String, List<ParkedReplay>> byOrigin = new LinkedHashMap<>();
        for (ParkedReplay c : claims) {
            if (c.originTopic == null) {
                outcome.put(c.id, new Settled.Absent("the claim was made before copies named their claim ("
                        + REPLAYED_CLAIM + "): a copy of it cannot be told from a record anyone allowed to publish to"
                        + " the origin topic could write, so it is released unconfirmed (if its copy did go out, a"
                        + " new replay sends the record a second time)"));
                continue;
            }
            byOrigin.computeIfAbsent(c.originTopic, o -> new ArrayList<>()).add(c);
        }
        long roundEnd = System.nanoTime() + timeout.multipliedBy(LOOK_ROUND_TIMEOUTS).toNanos();
        byOrigin.forEach((origin, theirs) -> outcome.putAll(lookOn(origin, theirs, roundEnd)));
        return outcome;
    }

    /** The earliest time a copy of {@code claim} can carry. */
    private static Instant windowFrom(ParkedReplay claim) {
        return claim.replayedAt.minus(CLOCK_SKEW);
    }

    /** The latest time a copy of {@code claim} can carry. */
    private Instant windowTo(ParkedReplay claim) {
        return claim.replayedAt.plus(config.claimStaleAfter()).plus(CLOCK_SKEW);
    }

    /** {@code claims} in groups whose windows overlap, oldest first. */
    private List<List<ParkedReplay>> overlapping(List<ParkedReplay> claims) {
        List<ParkedReplay> sorted = new ArrayList<>(claims);
        sorted.sort(Comparator.comparing((ParkedReplay c) -> c.replayedAt).thenComparing(c -> c.id));
        List<List<ParkedReplay>> groups = new ArrayList<>();
        Instant to = null;
        for (ParkedReplay c : sorted) {
            if (to == null || windowFrom(c).isAfter(to)) {
                groups.add(new ArrayList<>());
                to = windowTo(c);
            } else if (windowTo(c).isAfter(to)) {
                to = windowTo(c);
            }
            groups.get(groups.size() - 1).add(c);
        }
        return groups;
    }

    /**
     * Looks for the copies of {@code claims}, all sent to {@code origin}, group by group of overlapping windows, until
     * {@code roundEnd} (a {@link System#nanoTime()}).
     */
    private Map<UUID, Settled> lookOn(String origin, List<ParkedReplay> claims, long roundEnd) {
        Map<UUID, Settled> outcome = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = consumer()) {
            List<TopicPartition> partitions = consumer.partitionsFor(origin, timeout).stream()
                    .map(p -> new TopicPartition(origin, p.partition())).toList();
            consumer.assign(partitions);
            java.util.Deque<List<ParkedReplay>> groups = new java.util.ArrayDeque<>(overlapping(claims));
            while (!groups.isEmpty()) {
                List<ParkedReplay> group = groups.poll();
                if (System.nanoTime() > roundEnd) {
                    String why = "not looked for yet: this round's looks for copies took longer than "
                            + LOOK_ROUND_TIMEOUTS + " times lifeboat.replay.timeout (" + timeout + "); the next"
                            + " round looks";
                    group.forEach(c -> outcome.put(c.id, new Settled.Postponed(why)));
                    groups.forEach(g -> g.forEach(c -> outcome.put(c.id, new Settled.Postponed(why))));
                    break;
                }
                Look look = look(consumer, partitions, origin, group);
                outcome.putAll(look.found());
                List<ParkedReplay> unread = new ArrayList<>();
                for (ParkedReplay c : group) {
                    if (look.found().containsKey(c.id)) {
                        continue;
                    }
                    if (look.stopped() == null || readThrough(consumer, partitions, look, windowTo(c))) {
                        outcome.put(c.id, new Settled.Absent("no copy of it reached " + origin + " between "
                                + windowFrom(c) + " and " + windowTo(c)));
                    } else {
                        unread.add(c);
                    }
                }
                if (!unread.isEmpty()) {
                    // the oldest window not read through is where the read stopped; the newer ones get a read of
                    // their own, from their own start
                    outcome.put(unread.get(0).id, new Settled.Unknown("its copy was looked for on " + origin
                            + " between " + windowFrom(unread.get(0)) + " and " + windowTo(unread.get(0))
                            + " and the look did not finish: " + look.stopped()));
                    List<List<ParkedReplay>> again = overlapping(unread.subList(1, unread.size()));
                    for (int i = again.size() - 1; i >= 0; i--) {
                        groups.push(again.get(i));
                    }
                }
            }
        } catch (org.apache.kafka.common.KafkaException e) {
            String why = "its copy was looked for on " + origin + " and the look did not finish: reading " + origin
                    + " from " + kafka.get("bootstrap.servers") + " failed: " + e.getMessage();
            claims.forEach(c -> outcome.putIfAbsent(c.id, new Settled.Unknown(why)));
        }
        return outcome;
    }

    /**
     * What one read of an origin topic found: the copies by claim, and why it stopped before the end of its window
     * (null when it read it all); {@code reached}: the offset it read up to in each partition, {@code end}: each
     * partition's end when the read began.
     */
    private record Look(Map<UUID, Settled> found, String stopped, Map<TopicPartition, Long> reached,
                        Map<TopicPartition, Long> end) {
    }

    /** Whether {@code look} went through every record its topic holds from its start to {@code until}. */
    private boolean readThrough(KafkaConsumer<String, String> consumer, List<TopicPartition> partitions, Look look,
                                Instant until) {
        Map<TopicPartition, Long> last = offsetsAt(consumer, partitions, until, look.end());
        return partitions.stream().allMatch(tp -> look.reached().get(tp) >= last.get(tp));
    }

    /**
     * The first offset of each partition whose record carries {@code time} or later; the partition's {@code end} when
     * none does.
     */
    private Map<TopicPartition, Long> offsetsAt(KafkaConsumer<String, String> consumer,
                                                List<TopicPartition> partitions, Instant time,
                                                Map<TopicPartition, Long> end) {
        Map<TopicPartition, Long> times = new HashMap<>();
        partitions.forEach(tp -> times.put(tp, time.toEpochMilli()));
        Map<TopicPartition, OffsetAndTimestamp> at = consumer.offsetsForTimes(times, timeout);
        Map<TopicPartition, Long> offsets = new HashMap<>();
        partitions.forEach(tp -> offsets.put(tp, at.get(tp) == null ? end.get(tp)
                : Math.min(at.get(tp).offset(), end.get(tp))));
        return offsets;
    }

    /**
     * Reads {@code origin} from the start of the oldest window of {@code group} to the end of the newest (its records
     * from then to then: the time index finds both ends), looking for the copies of the group's claims, within the
     * replay deadline and {@code lifeboat.replay.claim-check-max-records} records.
     */
    private Look look(KafkaConsumer<String, String> consumer, List<TopicPartition> partitions, String origin,
                      List<ParkedReplay> group) {
        Instant from = group.stream().map(ParkedRecordService::windowFrom).min(Comparator.naturalOrder()).orElseThrow();
        Instant to = group.stream().map(this::windowTo).max(Comparator.naturalOrder()).orElseThrow();
        Map<String, ParkedReplay> open = new HashMap<>();
        group.forEach(c -> open.put(c.id.toString(), c));
        Map<UUID, Settled> found = new HashMap<>();
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
        Map<TopicPartition, Long> start = offsetsAt(consumer, partitions, from, end);
        Map<TopicPartition, Long> stop = offsetsAt(consumer, partitions, to, end);
        Map<TopicPartition, Long> reached = new HashMap<>(start);
        List<TopicPartition> reading = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            if (start.get(tp) < stop.get(tp)) {
                consumer.seek(tp, start.get(tp));
                reading.add(tp);
            }
        }
        consumer.pause(partitions);
        consumer.resume(reading);
        long read = 0;
        String stopped = null;
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!reading.isEmpty() && !open.isEmpty()) {
            if (System.nanoTime() > deadline) {
                stopped = "reading " + origin + " from " + from + " to " + to + " took longer than"
                        + " lifeboat.replay.timeout (" + timeout + ") after " + read + " records";
                break;
            }
            if (read >= config.claimCheckMaxRecords()) {
                stopped = origin + " holds more than lifeboat.replay.claim-check-max-records ("
                        + config.claimCheckMaxRecords() + ") records from " + from + " to " + to;
                break;
            }
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                if (r.offset() >= stop.get(tp) || r.offset() < reached.get(tp)) {
                    continue;
                }
                read++;
                reached.put(tp, r.offset() + 1);
                ParkedReplay c = copyOf(r, open);
                if (c != null) {
                    open.remove(c.id.toString());
                    found.put(c.id, new Settled.Found(new Replayed(r.topic(), r.partition(), r.offset(), r.key(),
                            header(r.headers(), EventCodec.H_TYPE))));
                }
            }
            // the position passes transaction markers and compacted gaps, which poll does not return
            for (java.util.Iterator<TopicPartition> i = reading.iterator(); i.hasNext(); ) {
                TopicPartition tp = i.next();
                long position = Math.min(consumer.position(tp, timeout), stop.get(tp));
                reached.put(tp, Math.max(reached.get(tp), position));
                if (position >= stop.get(tp)) {
                    consumer.pause(List.of(tp));
                    i.remove();
                }
            }
        }
        if (stopped == null && !open.isEmpty()) {
            partitions.forEach(tp -> reached.put(tp, Math.max(reached.get(tp), stop.get(tp))));
        }
        return new Look(found, stopped, reached, end);
    }

    /**
     * The claim among {@code open} that {@code r} is the copy of: the one it names in {@value #REPLAYED_CLAIM} (a
     * random id that only the copy sent under that claim carries).
     */
    private static ParkedReplay copyOf(ConsumerRecord<String, String> r, Map<String, ParkedReplay> open) {
        String claim = header(r.headers(), REPLAYED_CLAIM);
        return claim == null ? null : open.get(claim);
    }

    /** What a replay whose send failed found when it looked whether its copy went out after all. */
    private record AfterFailedSend(Replayed copy, String note) {
    }

    /**
     * After a send that failed or timed out: the copy may still have reached the broker. The producer is closed (its
     * sends resolved within the delivery deadline), then the copy is looked for: found, it is recorded and returned;
     * not found, the claim is released; when the look fails, the claim stays and is settled once it is stale (the
     * record is not sent twice meanwhile).
     */
    private AfterFailedSend afterFailedSend(KafkaProducer<String, String> producer, ParkedReplay claim) {
        producer.close(timeout);
        Settled s = lookForCopies(List.of(claim)).get(claim.id);
        if (s instanceof Settled.Found f) {
            try {
                recordCopy(claim, f.copy());
            } catch (RuntimeException e) {
                LOG.warnf("the copy of %s found at %s-%d@%d is recorded once the claim is stale: %s", claim.held(),
                        f.copy().topic(), f.copy().partition(), f.copy().offset(), e.getMessage());
            }
            LOG.infof("%s's send of %s failed but its copy reached %s-%d@%d", claim.replayedBy, claim.held(),
                    f.copy().topic(), f.copy().partition(), f.copy().offset());
            return new AfterFailedSend(f.copy(), "");
        }
        if (s instanceof Settled.Absent) {
            unclaim(claim);
            return new AfterFailedSend(null, "; no copy reached " + claim.originTopic + ": the record can be"
                    + " replayed again");
        }
        return new AfterFailedSend(null, "; whether a copy reached " + claim.originTopic + " is not known ("
                + (s instanceof Settled.Unknown u ? u.why() : ((Settled.Postponed) s).why()) + "): the record is"
                + " shown as being replayed and settled once its claim is older than"
                + " lifeboat.replay.claim-stale-after (" + config.claimStaleAfter() + ")");
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
        row.originTopic = held.originTopic();
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

    /** Gives a claim back when its copy never went out, so that the record can be replayed; logged when that fails. */
    private void unclaim(ParkedReplay claim) {
        try {
            database(() -> Panache.withTransaction(() -> ParkedReplay.deleteById(claim.id)));
        } catch (RuntimeException e) {
            LOG.warnf("the claim on %s stays though no copy went out (%s): it is released once older than"
                    + " lifeboat.replay.claim-stale-after (%s)", claim.held(), e.getMessage(),
                    config.claimStaleAfter());
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
                header(h, REPLAYED_FROM), null, null, null, originProblem, null, null);
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

    /**
     * A consumer of raw bytes for the records at origin places: what a copy sends is compared with them byte for byte.
     * No offset reset (a record deleted while it is read is an error, not a jump to the end), small fetches (one
     * record is read per place), and a short fetch wait: the consumer fetches ahead after each record, and a fetch at a
     * partition's end that the broker holds for the default 500 ms would hold up the read of the next place as long.
     */
    private KafkaConsumer<byte[], byte[]> byteConsumer() {
        Map<String, Object> config = new HashMap<>(kafka);
        config.keySet().removeIf(k -> k.startsWith("group.") || k.equals("client.id"));
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 64 * 1024);
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
        config.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        config.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
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
