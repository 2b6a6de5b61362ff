package dev.lifeboat.scheduler.service;

import dev.lifeboat.scheduler.domain.Policy;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduler;
import io.quarkus.vertx.VertxContextSupport;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.List;

/**
 * One cron job per enabled policy. Jobs are rebuilt from the database at start, so a restart loses no
 * schedule; a slot that fires on several instances records one backup (see BackupRequestService).
 */
@ApplicationScoped
public class PolicyScheduler {
    private static final Logger LOG = Logger.getLogger(PolicyScheduler.class);

    @Inject
    Scheduler scheduler;
    @Inject
    BackupRequestService backups;

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
                        .onFailure().invoke(e -> LOG.errorf(e, "policy %s could not request its backup", policyId))
                        .onFailure().recoverWithNull())
                .schedule();
    }

    public void unschedule(String policyId) {
        scheduler.unscheduleJob(jobId(policyId));
    }

    private static String jobId(String policyId) {
        return "policy-" + policyId;
    }
}
