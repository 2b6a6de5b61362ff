package dev.lifeboat.recovery.service;

import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.recovery.domain.PlanSpec;
import dev.lifeboat.recovery.repository.Db;
import dev.lifeboat.recovery.repository.PlanRepository;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * One cron job per plan with a drillSchedule, rebuilt from the database at start and whenever a plan changes.
 * A fire time gets one DRILL run however many coordinators fire it: the run id is derived from plan id and fire
 * time, and the run row is inserted only if absent.
 */
@ApplicationScoped
public class DrillScheduler {
    private static final Logger LOG = Logger.getLogger(DrillScheduler.class);

    private final Scheduler scheduler;
    private final SagaEngine engine;
    private final Db db;
    private final PlanRepository plans;

    public DrillScheduler(Scheduler scheduler, SagaEngine engine, Db db, PlanRepository plans) {
        this.scheduler = scheduler;
        this.engine = engine;
        this.db = db;
        this.plans = plans;
    }

    void onStart(@Observes StartupEvent ev) {
        List<PlanSpec> all = db.tx(plans::list);
        all.forEach(this::schedule);
        LOG.infof("scheduled drills of %d plan(s)", all.stream().filter(p -> p.drillSchedule() != null).count());
    }

    public void schedule(PlanSpec plan) {
        unschedule(plan.id());
        if (plan.drillSchedule() == null) {
            return;
        }
        String planId = plan.id();
        scheduler.newJob(jobId(planId))
                .setCron(plan.drillSchedule())
                .setTimeZone("UTC")
                .setTask(execution -> fire(planId, execution.getScheduledFireTime()))
                .schedule();
    }

    public void unschedule(String planId) {
        scheduler.unscheduleJob(jobId(planId));
    }

    /** Starts the drill of this fire time unless another coordinator did. */
    public void fire(String planId, Instant fireTime) {
        try {
            engine.start(planId, RunMode.DRILL, "schedule " + fireTime, drillRunId(planId, fireTime));
        } catch (RuntimeException e) {
            LOG.errorf(e, "drill of plan %s at %s could not start", planId, fireTime);
        }
    }

    public static String drillRunId(String planId, Instant fireTime) {
        return UUID.nameUUIDFromBytes(("drill:" + planId + ":" + fireTime.toEpochMilli())
                .getBytes(StandardCharsets.UTF_8)).toString();
    }

    private static String jobId(String planId) {
        return "drill-" + planId;
    }
}
