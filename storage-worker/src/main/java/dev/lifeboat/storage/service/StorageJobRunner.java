package dev.lifeboat.storage.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.storage.config.StorageConfig;
import dev.lifeboat.storage.messaging.BackupEventPublisher;
import dev.lifeboat.storage.repository.OffsiteCopy;
import dev.lifeboat.storage.repository.StorageJob;
import dev.lifeboat.storage.repository.StorageJobRepository;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Drains {@code storage.storage_job}: offsite copies (queued with the seal) and garbage-collection passes (queued with
 * a deletion) run here, on a pool of {@code lifeboat.storage.jobs.concurrency} threads, never on the consumer that
 * seals, so a long copy delays no other backup's BackupCompleted. A claimed job holds a lease that is renewed while
 * it runs; a worker killed mid-job stops renewing, and the job is claimed again once the lease runs out (by this
 * worker after its restart, or by another one): the copy then skips the chunks already at the destination. A
 * transient failure puts the job back with exponential backoff, until {@code give-up-after} has passed since it was
 * queued.
 */
@ApplicationScoped
public class StorageJobRunner {
    private static final Logger LOG = Logger.getLogger(StorageJobRunner.class);

    private final StorageJobRepository jobs;
    private final OffsiteCopyService copier;
    private final GarbageCollectionService gc;
    private final BackupEventPublisher publisher;
    private final StorageConfig.Jobs config;
    private final String worker = "storage-worker-" + UUID.randomUUID();
    private final Map<Long, Instant> running = new ConcurrentHashMap<>();
    private final ExecutorService pool;
    private final Clock clock = Clock.systemUTC();
    private volatile Instant renewed = Instant.EPOCH;
    private volatile boolean stopping;

    public StorageJobRunner(StorageJobRepository jobs, OffsiteCopyService copier, GarbageCollectionService gc,
                            BackupEventPublisher publisher, StorageConfig config) {
        this.jobs = jobs;
        this.copier = copier;
        this.gc = gc;
        this.publisher = publisher;
        this.config = config.jobs();
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(Math.max(1, this.config.concurrency()), r -> {
            Thread t = new Thread(r, "storage-job-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** The queued garbage-collection pass over one repository, written with the deletion that asks for it. */
    public static StorageJob.New gcJob(GarbageCollectionService.Location at) {
        return new StorageJob.New(StorageJob.Kind.GC, "gc:" + at.bucket() + "/" + at.prefix(),
                EventCodec.mapper().createObjectNode().put("bucket", at.bucket()).put("prefix", at.prefix())
                        .toString(), null, false);
    }

    /**
     * Claims due jobs while the pool has room, and renews the leases of the running ones. Also what resumes the work
     * of a worker that died: its jobs become claimable once their leases ran out.
     */
    @Scheduled(identity = "storage-jobs", every = "${lifeboat.storage.jobs.poll:1s}",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void poll() {
        if (stopping) {
            return;
        }
        try {
            renewLeases();
            while (running.size() < config.concurrency()) {
                Optional<StorageJob> job = jobs.claim(worker, config.lease());
                if (job.isEmpty()) {
                    return;
                }
                running.put(job.get().id(), clock.instant());
                try {
                    pool.execute(() -> run(job.get()));
                } catch (RejectedExecutionException e) {
                    running.remove(job.get().id());
                    return;
                }
            }
        } catch (RuntimeException e) {
            LOG.warnf("storage jobs: cannot look at the queue now (%s); the next poll tries again", e.getMessage());
        }
    }

    private void renewLeases() {
        Instant now = clock.instant();
        if (running.isEmpty() || Duration.between(renewed, now).compareTo(config.lease().dividedBy(3)) < 0) {
            return;
        }
        jobs.renew(worker, List.copyOf(running.keySet()), config.lease());
        renewed = now;
    }

    @WithSpan("StorageJobRunner.run")
    void run(StorageJob job) {
        Span.current().setAttribute("lifeboat.job.kind", job.kind().name());
        Span.current().setAttribute("lifeboat.job.subject", job.subject());
        try {
            switch (job.kind()) {
                case OFFSITE_COPY -> copy(job);
                case GC -> collect(job);
            }
            jobs.finish(job.id(), worker, true, null);
        } catch (RuntimeException e) {
            failed(job, e);
        } finally {
            running.remove(job.id());
        }
    }

    private void copy(StorageJob job) {
        SnapshotCreated snapshot = payload(job, SnapshotCreated.class);
        OffsiteCopy copy = copier.copy(snapshot);
        publisher.publish(copy, job.eventKey());
    }

    private void collect(StorageJob job) {
        JsonNode at = payload(job, JsonNode.class);
        GarbageCollectionService.Run run = gc.collect(List.of(new GarbageCollectionService.Location(
                at.path("bucket").asText(), at.path("prefix").asText())));
        if (!run.failures().isEmpty()) {
            throw new IllegalStateException("gc pass failed: " + String.join("; ", run.failures()));
        }
        LOG.infof("gc after expiry of %s: %d chunks marked, %d chunks deleted (%d bytes), %d chains deleted, %d WAL "
                        + "segments deleted", job.subject(), run.chunksMarked(), run.chunksDeleted(), run.bytesFreed(),
                run.chainsDeleted(), run.walSegmentsDeleted());
    }

    /** Transient until give-up-after has passed since the job was queued; then given up and, for a copy, reported. */
    private void failed(StorageJob job, RuntimeException e) {
        String why = e.getClass().getSimpleName() + ": " + e.getMessage();
        try {
            Duration age = Duration.between(job.createdAt(), clock.instant());
            if (age.compareTo(config.giveUpAfter()) >= 0) {
                LOG.errorf("storage job %s (%s) gave up after %d attempts over %s: %s", job.subject(), job.kind(),
                        job.attempts(), age, why);
                if (job.kind() == StorageJob.Kind.OFFSITE_COPY) {
                    SnapshotCreated snapshot = payload(job, SnapshotCreated.class);
                    publisher.publish(copier.gaveUp(snapshot, "copy to s3://" + snapshot.offsite().bucket() + "/"
                            + snapshot.offsite().prefix() + " gave up after " + job.attempts() + " attempts: " + why
                            + "; replay the SnapshotCreated to try again"), job.eventKey());
                }
                jobs.finish(job.id(), worker, false, why);
                return;
            }
            Duration backoff = backoff(job.attempts());
            LOG.warnf("storage job %s (%s) attempt %d failed, retrying in %s: %s", job.subject(), job.kind(),
                    job.attempts(), backoff, why);
            jobs.retryLater(job.id(), worker, backoff, why);
        } catch (RuntimeException again) {
            // the database is away too: the lease runs out and the job is claimed again
            LOG.warnf("storage job %s (%s) failed (%s) and cannot be rescheduled now (%s); it is taken up again once "
                    + "its lease of %s runs out", job.subject(), job.kind(), why, again.getMessage(), config.lease());
        }
    }

    private Duration backoff(int attempts) {
        Duration d = config.initialBackoff();
        for (int i = 1; i < attempts && d.compareTo(config.maxBackoff()) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(config.maxBackoff()) > 0 ? config.maxBackoff() : d;
    }

    private static <T> T payload(StorageJob job, Class<T> type) {
        try {
            return EventCodec.mapper().readValue(job.payload(), type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("storage job " + job.id() + " (" + job.subject() + ") has an unreadable "
                    + "payload: " + e.getOriginalMessage(), e);
        }
    }

    /** Gives the running jobs back, so that another worker takes them up without waiting for their leases. */
    void stop(@Observes ShutdownEvent event) {
        stopping = true;
        pool.shutdownNow();
        try {
            jobs.releaseAll(worker, List.copyOf(running.keySet()));
        } catch (RuntimeException e) {
            LOG.infof("storage jobs %s not released at shutdown (%s): taken up again once their leases run out",
                    running.keySet(), e.getMessage());
        }
    }
}
