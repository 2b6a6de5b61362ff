package dev.lifeboat.catalog.service;

import dev.lifeboat.catalog.domain.Backup;
import dev.lifeboat.catalog.domain.BackupHistory;
import dev.lifeboat.catalog.domain.BackupStatus;
import dev.lifeboat.catalog.repository.BackupRepository;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.vertx.VertxContextSupport;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.smallrye.mutiny.subscription.MultiEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The live progress of one backup, read from the catalog's own row of it: every catalog instance records every
 * backup event into the same database, so whichever instance a client reaches sees the backup as it stands, also
 * one that started before the client connected. The row is read as soon as this instance has recorded an event of
 * the backup ({@link #changed}), and every poll interval for what other instances recorded (the snapshot-worker
 * reports progress about once a second); a {@code progress} item goes out when it changed; once the backup reached a
 * final status one {@code done} item with its full history, and the stream ends. A stream still open at the
 * deadline ends with an {@code error} item; a {@code heartbeat} item goes out every heartbeat interval.
 */
@ApplicationScoped
public class BackupProgressStream {
    private static final Logger LOG = Logger.getLogger(BackupProgressStream.class);

    private final BackupRepository backups;
    private final BackupQueries queries;
    private final Duration pollInterval;
    private final Duration deadline;
    private final Duration heartbeat;
    /** The streams open on this instance, by backup id. */
    private final Map<String, Set<Follower>> following = new ConcurrentHashMap<>();

    public BackupProgressStream(BackupRepository backups, BackupQueries queries,
                                @ConfigProperty(name = "lifeboat.catalog.progress.poll-interval", defaultValue = "1s")
                                Duration pollInterval,
                                @ConfigProperty(name = "lifeboat.catalog.progress.deadline", defaultValue = "6h")
                                Duration deadline,
                                @ConfigProperty(name = "lifeboat.catalog.progress.heartbeat", defaultValue = "15s")
                                Duration heartbeat) {
        this.backups = backups;
        this.queries = queries;
        this.pollInterval = pollInterval;
        this.deadline = deadline;
        this.heartbeat = heartbeat;
    }

    /** One item of the stream. */
    public sealed interface Item {
    }

    public record Progress(String backupId, BackupStatus status, String phase, Long bytesDone, Long bytesTotal,
                           Integer percent, Double rateBytesPerSecond, Long etaSeconds, Instant at) implements Item {
    }

    public record Done(BackupHistory backup) implements Item {
    }

    public record Failed(String detail) implements Item {
    }

    public record Heartbeat() implements Item {
    }

    /** The backup as it stands, or null when the catalog does not know it; blocks (not on an event loop). */
    public Backup current(String backupId) {
        try {
            return VertxContextSupport.subscribeAndAwait(() -> Panache.withSession(() -> backups.findById(backupId)));
        } catch (Throwable t) {
            throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
        }
    }

    private BackupHistory history(String backupId) {
        try {
            return VertxContextSupport.subscribeAndAwait(() -> queries.history(backupId));
        } catch (Throwable t) {
            throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
        }
    }

    /** The stream of a backup the catalog knows ({@code first}: its row as just read). */
    public Multi<Item> follow(Backup first) {
        return Multi.createFrom().emitter(emitter -> {
            Follower f = new Follower(first.backupId, emitter);
            following.computeIfAbsent(f.backupId, k -> ConcurrentHashMap.newKeySet()).add(f);
            ScheduledExecutorService pool = Infrastructure.getDefaultWorkerPool();
            ScheduledFuture<?> task = pool.scheduleWithFixedDelay(() -> f.tick(null), pollInterval.toMillis(),
                    pollInterval.toMillis(), TimeUnit.MILLISECONDS);
            emitter.onTermination(() -> {
                task.cancel(false);
                following.computeIfPresent(f.backupId, (id, followers) -> {
                    followers.remove(f);
                    return followers.isEmpty() ? null : followers;
                });
            });
            pool.execute(() -> f.tick(first));
        });
    }

    /**
     * An event of {@code backupId} was committed by this instance: its streams here read the row now rather than at
     * their next poll, so a client following a backup sees it finish when the catalog does.
     */
    public void changed(String backupId) {
        Set<Follower> followers = following.get(backupId);
        if (followers != null) {
            followers.forEach(f -> Infrastructure.getDefaultWorkerPool().execute(() -> f.tick(null)));
        }
    }

    private static boolean isFinal(BackupStatus s) {
        return s == BackupStatus.COMPLETED || s == BackupStatus.FAILED || s == BackupStatus.DELETED;
    }

    /** The state of one stream; ticks come from the poll, the first read and {@link #changed}, so they synchronize. */
    private final class Follower {
        private final String backupId;
        private final MultiEmitter<? super Item> emitter;
        private final Instant started = Instant.now();
        private Instant lastBeat = started;
        private Progress last;
        private boolean ended;

        Follower(String backupId, MultiEmitter<? super Item> emitter) {
            this.backupId = backupId;
            this.emitter = emitter;
        }

        synchronized void tick(Backup read) {
            if (ended || emitter.isCancelled()) {
                return;
            }
            try {
                Instant now = Instant.now();
                Backup b = read != null ? read : current(backupId);
                if (b == null) {
                    end(new Failed("backup '" + backupId + "' is no longer in the catalog"));
                    return;
                }
                if (isFinal(b.status)) {
                    end(new Done(history(backupId)));
                    return;
                }
                Progress p = progress(b, now);
                if (last == null || !Objects.equals(p.status(), last.status()) || !Objects.equals(p.phase(), last.phase())
                        || !Objects.equals(p.bytesDone(), last.bytesDone())
                        || !Objects.equals(p.percent(), last.percent())) {
                    last = p;
                    emitter.emit(p);
                }
                if (Duration.between(started, now).compareTo(deadline) >= 0) {
                    end(new Failed("backup '" + backupId + "' did not finish within " + deadline
                            + " of following it; ask again to keep following"));
                    return;
                }
                if (Duration.between(lastBeat, now).compareTo(heartbeat) >= 0) {
                    lastBeat = now;
                    emitter.emit(new Heartbeat());
                }
            } catch (RuntimeException e) {
                // the database may be away for a moment: the next tick tries again, the deadline still holds
                LOG.debugf("progress of backup %s not read this time: %s", backupId, e.toString());
            }
        }

        private void end(Item item) {
            ended = true;
            emitter.emit(item);
            emitter.complete();
        }
    }

    /**
     * The progress item of a running backup: the rate is the average since the backup started; the total and the
     * time left are estimated from the worker's percent when it reports one.
     */
    static Progress progress(Backup b, Instant now) {
        Long done = b.progressBytes;
        Integer percent = b.progressPercent;
        Long total = done != null && percent != null && percent > 0 ? done * 100 / percent : null;
        Double rate = null;
        if (done != null && b.startedAt != null) {
            double seconds = Duration.between(b.startedAt, now).toMillis() / 1000.0;
            rate = seconds > 0 ? done / seconds : null;
        }
        Long eta = total != null && rate != null && rate > 0 ? (long) Math.ceil((total - done) / rate) : null;
        return new Progress(b.backupId, b.status, b.progressPhase, done, total, percent, rate, eta, b.updatedAt);
    }
}
