package dev.lifeboat.scheduler.messaging;

import dev.lifeboat.contracts.EventType;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.scheduler.domain.OutboxEvent;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.core.runtime.context.VertxContextSafetyToggle;
import io.smallrye.common.vertx.VertxContext;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Sends committed outbox rows to Kafka in order and marks them sent once the broker acknowledged them.
 * Rows are claimed with SKIP LOCKED so several scheduler instances relay without sending a row twice;
 * a crash between ack and commit re-sends a row with the same event id, which consumers dedupe.
 *
 * <p>It runs at once when a transaction that wrote a row has committed ({@link #wake()}: an on-demand request, a cron
 * fire or a missed slot caught up, a completion or verification whose retention expired backups, the watchdog), so
 * an event reaches the broker without waiting for a tick, and every {@code lifeboat.outbox.relay-interval} (a Vert.x
 * timer: the scheduler extension's intervals do not go below a second) for rows a wake missed (another instance's,
 * a failed run's). One relay runs at a time per instance; a wake during a relay runs another right after it. Rows
 * of an event type this version does not know (a newer instance's, during a rolling upgrade) are left for an instance
 * that knows it.
 */
@ApplicationScoped
public class OutboxRelay {
    private static final Logger LOG = Logger.getLogger(OutboxRelay.class);
    private static final String SOURCE = "/lifeboat/scheduler-service";
    private static final int BATCH = 100;
    private static final long FIRST_RUN_DELAY_MS = 2000;
    /** Longer than a Kafka send may take (delivery.timeout.ms, 2 min by default) for a batch. */
    private static final Duration RUN_LIMIT = Duration.ofMinutes(5);
    private static final Duration WARN_EVERY = Duration.ofMinutes(1);
    /**
     * Larger than any row this version writes (a BackupsExpired names at most 1000 backups, about 40 KB): only a
     * larger row refused as too large is set aside.
     */
    static final int LARGEST_ROW = 64 * 1024;
    /** The event types this version can send: rows of newer ones are left for a newer instance. */
    private static final List<String> KNOWN_TYPES = java.util.Arrays.stream(EventType.values()).map(EventType::ceType)
            .toList();

    @Inject
    @Channel("backup-requests")
    MutinyEmitter<String> emitter;

    @Inject
    Vertx vertx;

    @Inject
    MeterRegistry registry;

    @ConfigProperty(name = "lifeboat.outbox.relay-interval")
    Duration interval;

    private final AtomicBoolean running = new AtomicBoolean();
    private final AtomicBoolean again = new AtomicBoolean();
    private final AtomicBoolean failing = new AtomicBoolean();
    private volatile long timer = -1;
    private volatile boolean stopped;
    private volatile long lastWarned;

    void start(@Observes StartupEvent event) {
        timer = vertx.setPeriodic(FIRST_RUN_DELAY_MS, Math.max(10, interval.toMillis()), id -> wake());
    }

    void stop(@Observes ShutdownEvent event) {
        stopped = true;
        vertx.cancelTimer(timer);
    }

    /** Relays now, on a context of its own (callable from any thread, after the writing transaction committed). */
    public void wake() {
        if (stopped) {
            return;
        }
        if (!running.compareAndSet(false, true)) {
            again.set(true);
            return;
        }
        again.set(false);
        try {
            Context context = VertxContext.createNewDuplicatedContext(vertx.getOrCreateContext());
            VertxContextSafetyToggle.setContextSafe(context, true);
            // deferred: a failure while building the relay ends this run like any other failure, and a relay that
            // never completes (a query or a send with no answer) is given up, so one stuck run cannot stop the relay
            context.runOnContext(v -> Uni.createFrom().deferred(this::relay)
                    .ifNoItem().after(RUN_LIMIT).fail()
                    .subscribe().with(done -> finished(), failure -> {
                        LOG.warnf("outbox relay run ended: %s", failure.toString());
                        finished();
                    }));
        } catch (RuntimeException e) {
            LOG.warnf("outbox relay could not start a run: %s", e.toString());
            finished();
        }
    }

    private void finished() {
        running.set(false);
        if (again.getAndSet(false)) {
            wake();
        }
    }

    Uni<Void> relay() {
        return Panache.withTransaction(() -> Panache.getSession().chain(session -> session
                        .createNativeQuery("select * from scheduler.outbox where sent_at is null and failed_at is null "
                                + "and event_type in (:known) order by created_at limit " + BATCH
                                + " for update skip locked", OutboxEvent.class)
                        .setParameter("known", KNOWN_TYPES)
                        .getResultList())
                .chain(this::sendAll))
                .invoke(() -> {
                    if (failing.compareAndSet(true, false)) {
                        LOG.info("outbox relay sends again");
                    }
                })
                .onFailure().invoke(e -> {
                    // once per outage and then once a minute, not on every tick
                    long now = System.nanoTime();
                    if (failing.compareAndSet(false, true) || now - lastWarned > WARN_EVERY.toNanos()) {
                        lastWarned = now;
                        LOG.warnf("outbox relay will retry every %s until it succeeds: %s", interval, e.getMessage());
                    } else {
                        LOG.debugf("outbox relay will retry: %s", e.getMessage());
                    }
                })
                .onFailure().recoverWithNull()
                .replaceWithVoid();
    }

    private Uni<Void> sendAll(List<OutboxEvent> rows) {
        return Multi.createFrom().iterable(rows)
                .onItem().transformToUniAndConcatenate(this::send)
                .collect().last()
                .replaceWithVoid();
    }

    /**
     * Sends one row and marks it sent. A row Kafka can never take ({@link #unsendable}) is set aside with the reason
     * ({@code failed_at}, {@code failure}), counted ({@code lifeboat_outbox_unsendable_total{type}}) and then kept
     * in view by {@link OutboxSetAside} (the alert LifeboatOutboxSetAside), so that the rows behind it go on; any
     * other failure ends the run, and the row is sent again on the next.
     */
    private Uni<Void> send(OutboxEvent row) {
        return Uni.createFrom().deferred(() -> emitter.sendMessage(KafkaEvents.messageOfJson(row.id.toString(),
                        EventType.ofCeType(row.eventType).orElseThrow(), row.messageKey, row.payload, SOURCE)))
                .invoke(() -> row.sentAt = Instant.now())
                .onFailure(e -> unsendable(e, row.payload.length())).recoverWithItem(e -> {
                    row.failedAt = Instant.now();
                    row.failure = e.toString();
                    registry.counter("lifeboat_outbox_unsendable_total", "type", row.eventType).increment();
                    LOG.errorf("outbox row %s (%s, key %s, %d characters) can never be sent and is set aside, the rows "
                            + "behind it go on; once the cause is fixed, send it with: update scheduler.outbox set "
                            + "failed_at = null, failure = null where id = '%s'. Cause: %s", row.id, row.eventType,
                            row.messageKey, row.payload.length(), row.id, e);
                    return null;
                });
    }

    /**
     * Whether the row itself is at fault, so that sending it again cannot succeed: Kafka refused it as too large and
     * it is larger than any row this version writes ({@link #LARGEST_ROW}). A row of the usual size refused as too
     * large means a producer or broker limit was set below what the platform needs, and a broker away or refusing
     * this service (an ACL) fails every row alike: each waits for the fix instead.
     */
    static boolean unsendable(Throwable failure, int payloadLength) {
        if (payloadLength <= LARGEST_ROW) {
            return false;
        }
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RecordTooLargeException) {
                return true;
            }
        }
        return false;
    }
}
