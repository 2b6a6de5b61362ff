package dev.lifeboat.recovery.service;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.recovery.ClusterTarget;
import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.recovery.domain.PlanSpec;
import dev.lifeboat.recovery.domain.PlanStep;
import dev.lifeboat.recovery.domain.Run;
import dev.lifeboat.recovery.domain.SagaTable;
import dev.lifeboat.recovery.domain.TargetServer;
import dev.lifeboat.recovery.repository.Db;
import dev.lifeboat.recovery.repository.TargetRepository;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Resolves the target servers a plan's RestoreDatabase steps name, and checks that every database a run would
 * create, replace or drop there is one the server's pattern allows: when a plan is written and again when a run
 * starts (an admin may have changed or removed the target since).
 */
@ApplicationScoped
public class RestoreTargets {
    /** A stand-in run id for checking drill scratch names when a plan is written (real ones are UUIDs too). */
    private static final String SAMPLE_RUN = "0123abcd-0000-0000-0000-000000000000";

    private final TargetRepository targets;

    public RestoreTargets(TargetRepository targets) {
        this.targets = targets;
    }

    /**
     * The server of every restore step, by step index, read under a row lock (a concurrent delete of the target
     * waits). {@code mode} null checks a plan being written: its databases, and drill scratch names when it has a
     * drill schedule; a run checks what it will touch: the plan's database (recovery) or its scratch databases
     * (drill, named after {@code runId}).
     */
    public Map<Integer, TargetServer> resolve(Connection c, PlanSpec plan, RunMode mode, String runId)
            throws SQLException {
        Map<Integer, TargetServer> servers = new LinkedHashMap<>();
        Set<String> unknown = new LinkedHashSet<>();
        List<String> problems = new ArrayList<>();
        clusters(c, plan, mode, runId, unknown, problems);
        for (int i = 0; i < plan.steps().size(); i++) {
            if (!(plan.steps().get(i) instanceof PlanStep.RestoreDatabase r)) {
                continue;
            }
            Optional<TargetServer> server = targets.lock(c, r.target());
            if (server.isEmpty()) {
                unknown.add(r.target());
                continue;
            }
            TargetServer t = server.get();
            String at = "steps[" + i + "]";
            if (t.isCluster()) {
                problems.add(at + ".target: '" + t.name() + "' is a cluster target (for RestoreCluster steps); "
                        + "RestoreDatabase needs a database server");
                continue;
            }
            servers.put(i, t);
            if (mode != RunMode.DRILL && !t.allows(r.database())) {
                problems.add(at + ".database: '" + r.database() + "' does not match " + t.databasePattern()
                        + " of target server '" + t.name() + "'");
            }
            if (mode == RunMode.DRILL || (mode == null && plan.drillSchedule() != null)) {
                String scratch = SagaTable.scratchDatabase(mode == null ? SAMPLE_RUN : runId, i);
                if (!t.allows(scratch)) {
                    problems.add(at + ": a drill restores into scratch database '" + scratch + "' (drill_<run>_<step>)"
                            + ", which does not match " + t.databasePattern() + " of target server '" + t.name()
                            + "'; allow drill_ names there (e.g. ^(drill_|restored_).*)");
                }
            }
        }
        if (!unknown.isEmpty()) {
            throw new ProblemException(422, "Unknown target server", "target server" + (unknown.size() > 1 ? "s " : " ")
                    + String.join(", ", unknown.stream().map(u -> "'" + u + "'").toList())
                    + " not registered (an admin registers it with PUT /api/v1/targets/{name})");
        }
        if (!problems.isEmpty()) {
            throw new ProblemException(422, "Database not allowed on target server", String.join("; ", problems));
        }
        return servers;
    }

    /**
     * The new cluster of every RestoreCluster step, by step index, read under a row lock: the target must be a
     * registered cluster target and the step's port one of its ports. {@code mode} as for {@link #resolve}.
     */
    public Map<Integer, ClusterTarget> clusters(Connection c, PlanSpec plan, RunMode mode, String runId)
            throws SQLException {
        Set<String> unknown = new LinkedHashSet<>();
        List<String> problems = new ArrayList<>();
        Map<Integer, ClusterTarget> clusters = clusters(c, plan, mode, runId, unknown, problems);
        if (!unknown.isEmpty() || !problems.isEmpty()) {
            throw new IllegalStateException("cluster targets changed while the run started: " + unknown + problems);
        }
        return clusters;
    }

    private Map<Integer, ClusterTarget> clusters(Connection c, PlanSpec plan, RunMode mode, String runId,
                                                 Set<String> unknown, List<String> problems) throws SQLException {
        Map<Integer, ClusterTarget> clusters = new LinkedHashMap<>();
        for (int i = 0; i < plan.steps().size(); i++) {
            if (!(plan.steps().get(i) instanceof PlanStep.RestoreCluster r)) {
                continue;
            }
            Optional<TargetServer> server = targets.lock(c, r.target());
            if (server.isEmpty()) {
                unknown.add(r.target());
                continue;
            }
            TargetServer t = server.get();
            String at = "steps[" + i + "]";
            if (!t.isCluster()) {
                problems.add(at + ".target: '" + t.name() + "' is a database server; RestoreCluster needs a cluster "
                        + "target (PUT /api/v1/targets/{name} with kind cluster, dataRoot, ports)");
                continue;
            }
            if (!t.allowsPort(r.port())) {
                problems.add(at + ".port: " + r.port() + " is not one of the ports " + t.ports() + " of cluster target '"
                        + t.name() + "'");
                continue;
            }
            clusters.put(i, t.cluster(SagaTable.clusterName(mode == null ? SAMPLE_RUN : runId,
                    mode == null ? RunMode.RECOVERY : mode, r, i), r.port()));
        }
        return clusters;
    }

    /** The cluster of a RestoreCluster step as resolved when the run started. */
    public ClusterTarget keptCluster(Run r, int step) {
        JsonNode kept = r.data.path("clusters").get(String.valueOf(step));
        if (kept == null || kept.isNull()) {
            throw new IllegalStateException("run " + r.id + " resolved no cluster for step " + step);
        }
        return Db.json().convertValue(kept, ClusterTarget.class);
    }

    /** What a restore step of a run restores into, for messages: a database or a cluster. */
    public String describe(Connection c, Run r, int step) throws SQLException {
        return r.plan.steps().get(step) instanceof PlanStep.RestoreCluster ? keptCluster(r, step).describe()
                : kept(c, r, step).describe();
    }

    /** The database a run's restore step restores into: the plan's, or a drill's scratch database. */
    public static String database(String runId, RunMode mode, PlanSpec plan, int restoreStep) {
        return mode == RunMode.DRILL ? SagaTable.scratchDatabase(runId, restoreStep)
                : ((PlanStep.RestoreDatabase) plan.steps().get(restoreStep)).database();
    }

    /**
     * The restore target of a step as resolved when the run started. Runs started before targets were kept
     * with the run resolve the step's target server now, and only a database its pattern allows; runs started
     * before targets carried their server's name get the name of the step's target server (snapshot-worker reads
     * the registration by it and refuses a target that differs from it).
     */
    public DatabaseTarget kept(Connection c, Run r, int restoreStep) throws SQLException {
        JsonNode kept = r.data.path("targets").get(String.valueOf(restoreStep));
        PlanStep.RestoreDatabase s = (PlanStep.RestoreDatabase) r.plan.steps().get(restoreStep);
        if (kept != null && !kept.isNull()) {
            DatabaseTarget t = Db.json().convertValue(kept, DatabaseTarget.class);
            return t.server() != null ? t : new DatabaseTarget(t.host(), t.port(), t.database(), t.user(),
                    t.passwordRef(), s.target());
        }
        TargetServer server = targets.find(c, s.target()).orElseThrow(() -> new IllegalStateException(
                "target server '" + s.target() + "' of step " + restoreStep + " is not registered"));
        String database = database(r.id, r.mode, r.plan, restoreStep);
        if (!server.allows(database)) {
            throw new IllegalStateException("database '" + database + "' does not match " + server.databasePattern()
                    + " of target server '" + server.name() + "'");
        }
        return server.target(database);
    }
}
