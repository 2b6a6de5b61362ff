package dev.lifeboat.snapshot.service;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.contracts.WalStatus;
import dev.lifeboat.repository.wal.WalNames;
import dev.lifeboat.snapshot.config.RecoveryConfig;
import io.smallrye.common.annotation.Identifier;

/**
 * How far the WAL archivers said a source's archive reaches, from their reports on lifeboat.wal.status.v1, which only
 * snapshot-worker may write. The bucket is not the proof of its own contents: someone who can write it could delete
 * the newest WAL, and a restore to the latest point would then stop early and promote as if nothing were missing.
 */
@ApplicationScoped
public class ArchiveHeads {
    private static final Logger LOG = Logger.getLogger(ArchiveHeads.class);

    /** The highest LSN reported archived into {@code archive}, by which archiver and when. */
    public record Head(long lsn, String workerId, Instant reportedAt) {
        String describe() {
            return WalNames.formatLsn(lsn) + " (reported by archiver " + workerId + " at " + reportedAt + ")";
        }
    }

    /** What the reports say: the head when one was found, else why there is none. */
    public record Look(Optional<Head> head, String note) {
    }

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;

    @Inject
    RecoveryConfig config;

    /**
     * The highest archived LSN reported for {@code sourceId} into the archive at {@code location} within the look-back
     * window; empty with the reason when there is none or the reports could not be read in time.
     */
    public Look head(String sourceId, String location) {
        Duration lookBack = config.cluster().archiveHeadLookBack();
        Duration timeout = config.cluster().archiveHeadTimeout();
        long deadline = System.nanoTime() + timeout.toNanos();
        Head best = null;
        try (KafkaConsumer<String, String> consumer = consumer(timeout)) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.WAL_STATUS, timeout).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            long since = Instant.now().minus(lookBack).toEpochMilli();
            Map<TopicPartition, Long> at = new HashMap<>();
            partitions.forEach(p -> at.put(p, since));
            Map<TopicPartition, OffsetAndTimestamp> from = consumer.offsetsForTimes(at, timeout);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            for (TopicPartition p : partitions) {
                OffsetAndTimestamp o = from.get(p);
                consumer.seek(p, o == null ? end.get(p) : o.offset());
            }
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    return new Look(Optional.ofNullable(best), "reading " + Topics.WAL_STATUS + " took longer than "
                            + timeout + " (lifeboat.recovery.cluster.archive-head-timeout); the newest reports were "
                            + "not all read");
                }
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    if (!sourceId.equals(r.key())) {
                        continue;
                    }
                    best = higher(best, report(r), location);
                }
            }
        } catch (RuntimeException e) {
            LOG.warnf("cannot read the WAL archivers' reports for source %s from %s: %s", sourceId, Topics.WAL_STATUS,
                    e.toString());
            return new Look(Optional.ofNullable(best), "the archivers' reports on " + Topics.WAL_STATUS
                    + " could not be read: " + e.getMessage());
        }
        return best != null ? new Look(Optional.of(best), null)
                : new Look(Optional.empty(), "no archiver reported on " + Topics.WAL_STATUS + " for source " + sourceId
                + " into " + location + " within the last " + lookBack
                + " (lifeboat.recovery.cluster.archive-head-look-back)");
    }

    private static WalStatus report(ConsumerRecord<String, String> r) {
        try {
            return EventCodec.decode(r.headers(), r.value()).data() instanceof WalStatus s ? s : null;
        } catch (RuntimeException e) {
            // a record the catalog dead-letters is no report of anything
            return null;
        }
    }

    private static Head higher(Head best, WalStatus s, String location) {
        if (s == null || s.archivedLsn() == null || !location.equals(s.archive())
                || WalStatus.REFUSED.equals(s.state())) {
            return best;
        }
        long lsn;
        try {
            lsn = WalNames.parseLsn(s.archivedLsn());
        } catch (RuntimeException e) {
            return best;
        }
        return best != null && Long.compareUnsigned(best.lsn(), lsn) >= 0 ? best
                : new Head(lsn, s.workerId(), s.reportedAt());
    }

    private KafkaConsumer<String, String> consumer(Duration timeout) {
        Map<String, Object> c = new HashMap<>(kafka);
        c.keySet().removeIf(k -> k.startsWith("group.") || k.equals("client.id"));
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        c.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        return new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer());
    }
}
