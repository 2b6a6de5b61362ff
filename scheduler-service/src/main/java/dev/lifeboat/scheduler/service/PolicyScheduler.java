package dev.lifeboat.scheduler.service;

import dev.lifeboat.scheduler.domain.Policy;
import dev.lifeboat.scheduler.messaging.OutboxRelay;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import io.quarkus.scheduler.Scheduler;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.quarkus.vertx.VertxContextSupport;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * One cron job per enabled policy. Jobs are rebuilt from the database at start, so a restart loses no
 * schedule; a slot that fires on several instances records one backup (see BackupRequestService); a slot missed
 * while the service or its database was down is fired once afterwards ({@link #catchUp}).
 */
@ApplicationScoped
public class PolicyScheduler {
    private static final Logger LOG = Logger.getLogger(PolicyScheduler.class);

    @Inject
    Scheduler scheduler;
    @Inject
    BackupRequestService backups;
    @Inject
    OutboxRelay relay;
    @ConfigProperty(name = "lifeboat.schedule.catch-up-interval")
    String catchUpInterval;
    @ConfigProperty(name = "lifeboat.schedule.catch-up-grace")
    Duration catchUpGrace;

    void onStart(@Observes StartupEvent ev) throws Throwable {
        List<Policy> policies = VertxContextSupport.subscribeAndAwait(
                () -> Panache.withSession(() -> Policy.<Policy>list("enabled", true)));
        policies.forEach(this::schedule);
        LOG.infof("scheduled %d backup policies", policies.size());
    }

    public void schedule(Policy policy) {
        unschedule(policy.id);
        if (!policy.enabled) {
            return;
        }
        String policyId = policy.id;
        scheduler.newJob(jobId(policyId))
                .setCron(policy.schedule)
                .setTimeZone("UTC")
                .setAsyncTask(execution -> backups.requestScheduled(policyId, execution.getScheduledFireTime())
                        // committed: the request leaves now, not at the relay's next tick
                        .invoke(relay::wake)
                        .onFailure().invoke(e -> LOG.errorf(e, "policy %s could not request its backup", policyId))
                        .onFailure().recoverWithNull())
                .schedule();
    }

    /**
     * Fires, once, the latest slot of each enabled policy that was missed while this service or its database was
     * down (its cron fire failed or never happened): only the latest, since one backup now satisfies the policy and
     * a burst of backups for slots long gone would not. A slot younger than the grace is left to its own fire; a
     * policy never fired counts from its creation. Runs shortly after start and then periodically, so it also
     * catches up when the database comes back; the backup id of a slot is fixed, so a slot is never recorded twice.
     */
    @Scheduled(every = "${lifeboat.schedule.catch-up-interval}", delayed = "${lifeboat.schedule.catch-up-delay}",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> catchUp() {
        Instant now = Instant.now();
        return Panache.withSession(() -> Policy.<Policy>list("enabled", true))
                .onItem().transformToMulti(policies -> Multi.createFrom().iterable(policies))
                .onItem().transformToUniAndConcatenate(policy -> missedSlot(policy, now)
                        .map(slot -> backups.requestScheduled(policy.id, slot)
                                .invoke(relay::wake)
                                .invoke(() -> LOG.infof("policy %s: slot %s was missed (service or database "
                                        + "down), fired now", policy.id, slot))
                                .onFailure().invoke(e -> LOG.warnf("policy %s: catching up slot %s failed, "
                                        + "tried again in %s: %s", policy.id, slot, catchUpInterval, e.toString()))
                                .onFailure().recoverWithNull())
                        .orElse(Uni.createFrom().voidItem()))
                .collect().last()
                .onFailure().invoke(e -> LOG.warnf("missed cron slots not checked, tried again in %s: %s",
                        catchUpInterval, e.toString()))
                .onFailure().recoverWithNull()
                .replaceWithVoid();
    }

    private java.util.Optional<Instant> missedSlot(Policy policy, Instant now) {
        Instant handled = policy.lastFireAt != null ? policy.lastFireAt : policy.createdAt;
        return CronSchedule.latestBefore(policy.schedule, now.minus(catchUpGrace))
                .filter(slot -> handled == null || slot.isAfter(handled));
    }

    public void unschedule(String policyId) {
        scheduler.unscheduleJob(jobId(policyId));
    }

    private static String jobId(String policyId) {
        return "policy-" + policyId;
    }
}
