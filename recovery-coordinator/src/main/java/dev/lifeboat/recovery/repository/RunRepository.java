package dev.lifeboat.recovery.repository;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.recovery.domain.PlanSpec;
import dev.lifeboat.recovery.domain.Run;
import dev.lifeboat.recovery.domain.RunStatus;
import dev.lifeboat.recovery.domain.SagaTable;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static dev.lifeboat.recovery.repository.Db.instant;
import static dev.lifeboat.recovery.repository.Db.toJson;
import static dev.lifeboat.recovery.repository.Db.ts;

@ApplicationScoped
public class RunRepository {
    private static final Logger LOG = Logger.getLogger(RunRepository.class);
    private static final TypeReference<List<SagaTable.Action>> ACTIONS = new TypeReference<>() {
    };

    public record StepRow(int index, String kind, String status, Instant startedAt, Instant finishedAt,
                          String message, JsonNode details) {
        public Long durationMillis() {
            return startedAt == null || finishedAt == null ? null
                    : java.time.Duration.between(startedAt, finishedAt).toMillis();
        }
    }

    /** Inserts the run and its PENDING steps; false when a run with this id exists (a drill fired twice). */
    public boolean insert(Connection c, Run r) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("insert into runs (id, plan_id, plan, mode, trigger, status, "
                + "phase, action_index, comp_index, data, started_at, traceparent, updated_at) "
                + "values (?, ?, ?::jsonb, ?, ?, ?, ?, 0, 0, ?::jsonb, ?, ?, ?) on conflict (id) do nothing")) {
            ps.setString(1, r.id);
            ps.setString(2, r.planId);
            ps.setString(3, toJson(r.plan));
            ps.setString(4, r.mode.name());
            ps.setString(5, r.trigger);
            ps.setString(6, r.status.name());
            ps.setString(7, r.phase.name());
            ps.setString(8, toJson(r.data));
            ps.setTimestamp(9, ts(r.startedAt));
            ps.setString(10, r.traceparent);
            ps.setTimestamp(11, ts(Instant.now()));
            if (ps.executeUpdate() == 0) {
                return false;
            }
        }
        try (PreparedStatement ps = c.prepareStatement(
                "insert into run_steps (run_id, idx, kind, status) values (?, ?, ?, 'PENDING')")) {
            for (int i = 0; i < r.plan.steps().size(); i++) {
                ps.setString(1, r.id);
                ps.setInt(2, i);
                ps.setString(3, r.plan.steps().get(i).kind());
                ps.addBatch();
            }
            ps.executeBatch();
        }
        return true;
    }

    /** The run, locked for this transaction: every transition of one run is serialised by this lock. */
    public Optional<Run> lock(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select * from runs where id = ? for update")) {
            ps.setString(1, id);
            ResultSet rs = ps.executeQuery();
            return rs.next() ? Optional.of(read(rs)) : Optional.empty();
        }
    }

    public Optional<Run> find(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select * from runs where id = ?")) {
            ps.setString(1, id);
            ResultSet rs = ps.executeQuery();
            return rs.next() ? Optional.of(read(rs)) : Optional.empty();
        }
    }

    public List<Run> ofPlan(Connection c, String planId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select * from runs where plan_id = ? order by started_at desc, id")) {
            ps.setString(1, planId);
            ResultSet rs = ps.executeQuery();
            List<Run> runs = new ArrayList<>();
            while (rs.next()) {
                runs.add(read(rs));
            }
            return runs;
        }
    }

    public List<String> ids(Connection c, String sql) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ResultSet rs = ps.executeQuery();
            List<String> ids = new ArrayList<>();
            while (rs.next()) {
                ids.add(rs.getString(1));
            }
            return ids;
        }
    }

    public void save(Connection c, Run r, Object result) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update runs set status = ?, phase = ?, action_index = ?, "
                + "compensations = ?::jsonb, comp_index = ?, pending = ?::jsonb, deadline = ?, data = ?::jsonb, "
                + "reason = ?, forward_finished_at = ?, finished_at = ?, result = coalesce(?::jsonb, result), "
                + "updated_at = ? where id = ?")) {
            ps.setString(1, r.status.name());
            ps.setString(2, r.phase.name());
            ps.setInt(3, r.actionIndex);
            ps.setString(4, r.compensations == null ? null : toJson(r.compensations));
            ps.setInt(5, r.compIndex);
            ps.setString(6, r.pending == null ? null : toJson(r.pending));
            ps.setTimestamp(7, ts(r.deadline));
            ps.setString(8, toJson(r.data));
            ps.setString(9, r.reason);
            ps.setTimestamp(10, ts(r.forwardFinishedAt));
            ps.setTimestamp(11, ts(r.finishedAt));
            ps.setString(12, result == null ? null : toJson(result));
            ps.setTimestamp(13, ts(Instant.now()));
            ps.setString(14, r.id);
            ps.executeUpdate();
        }
        if (r.pending != null && r.pending.payload() != null) {
            recordSent(c, r.id, r.pending);
        }
    }

    /** Keeps {@code sent} as the command {@code commandId} was last sent (a re-send has a later deadline). */
    private static void recordSent(Connection c, String runId, Run.Pending sent) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("insert into sent_commands (command_id, run_id, step, action, "
                + "type, payload) values (?, ?, ?, ?, ?, ?) on conflict (command_id) do update set "
                + "payload = excluded.payload, sent_at = now() where sent_commands.payload <> excluded.payload")) {
            ps.setString(1, sent.commandId());
            ps.setString(2, runId);
            ps.setInt(3, sent.step());
            ps.setString(4, sent.action());
            ps.setString(5, sent.type());
            ps.setString(6, sent.payload());
            ps.executeUpdate();
        }
    }

    public JsonNode result(Connection c, String id) throws SQLException, IOException {
        try (PreparedStatement ps = c.prepareStatement("select result::text from runs where id = ?")) {
            ps.setString(1, id);
            ResultSet rs = ps.executeQuery();
            return rs.next() && rs.getString(1) != null ? Db.json().readTree(rs.getString(1)) : null;
        }
    }

    public List<StepRow> steps(Connection c, String runId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select * from run_steps where run_id = ? order by idx")) {
            ps.setString(1, runId);
            ResultSet rs = ps.executeQuery();
            List<StepRow> steps = new ArrayList<>();
            while (rs.next()) {
                steps.add(new StepRow(rs.getInt("idx"), rs.getString("kind"), rs.getString("status"),
                        instant(rs.getTimestamp("started_at")), instant(rs.getTimestamp("finished_at")),
                        rs.getString("message"), tree(rs.getString("details"))));
            }
            return steps;
        }
    }

    public void stepStarted(Connection c, String runId, int step, Instant at) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update run_steps set status = 'RUNNING', started_at = ? "
                + "where run_id = ? and idx = ? and status = 'PENDING'")) {
            ps.setTimestamp(1, ts(at));
            ps.setString(2, runId);
            ps.setInt(3, step);
            ps.executeUpdate();
        }
    }

    /** Records an action's outcome on its step; {@code status}/{@code finishedAt} null leave them as they are. */
    public void stepOutcome(Connection c, String runId, int step, String status, Instant finishedAt, String message,
                            String detailKey, Object detail) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update run_steps set status = coalesce(?, status), "
                + "finished_at = coalesce(?, finished_at), message = coalesce(?, message), "
                + "details = details || jsonb_build_object(?::text, ?::jsonb) where run_id = ? and idx = ?")) {
            ps.setString(1, status);
            ps.setTimestamp(2, ts(finishedAt));
            ps.setString(3, message);
            ps.setString(4, detailKey);
            ps.setString(5, toJson(detail));
            ps.setString(6, runId);
            ps.setInt(7, step);
            ps.executeUpdate();
        }
    }

    public void transition(Connection c, String runId, Integer step, String action, String commandId,
                           RunStatus from, RunStatus to, String note) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("insert into run_transitions (run_id, at, step, action, "
                + "command_id, from_status, to_status, note) values (?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, runId);
            ps.setTimestamp(2, ts(Instant.now()));
            ps.setObject(3, step);
            ps.setString(4, action);
            ps.setString(5, commandId);
            ps.setString(6, from == null ? null : from.name());
            ps.setString(7, to == null ? null : to.name());
            ps.setString(8, note);
            ps.executeUpdate();
        }
    }

    /**
     * A command this coordinator sent for a run, {@code payload} as last sent (null for one sent before the
     * coordinator kept what it sent); {@code awaited} while the run, or a late drop, still waits for its reply.
     */
    public record IssuedCommand(String commandId, String runId, int step, String action, String type,
                                boolean awaited, String payload) {
    }

    /**
     * {@code commandId} of run {@code runId} as this coordinator sent it; empty when it never sent such a command
     * (a coordinator-local action, which sends none, included).
     */
    public Optional<IssuedCommand> issuedCommand(Connection c, String runId, String commandId) throws SQLException {
        // what a run, or a late drop, waits for now
        IssuedCommand awaited = null;
        try (PreparedStatement ps = c.prepareStatement("select (pending->>'step')::int, pending->>'action', "
                + "pending->>'type', pending->>'payload' from runs where id = ? "
                + "and status in ('RUNNING', 'COMPENSATING') and pending->>'commandId' = ? "
                + "and pending->>'payload' is not null "
                + "union all select step, pending->>'action', pending->>'type', pending->>'payload' from late_drops "
                + "where command_id = ? and run_id = ? and expired_at is null and replied_at is null "
                + "and deadline > now()")) {
            ps.setString(1, runId);
            ps.setString(2, commandId);
            ps.setString(3, commandId);
            ps.setString(4, runId);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    awaited = new IssuedCommand(commandId, runId, rs.getInt(1), rs.getString(2), rs.getString(3),
                            true, rs.getString(4));
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("select step, action, type, payload from sent_commands "
                + "where command_id = ? and run_id = ?")) {
            ps.setString(1, commandId);
            ps.setString(2, runId);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    return Optional.of(new IssuedCommand(commandId, runId, rs.getInt(1), rs.getString(2),
                            rs.getString(3), awaited != null, rs.getString(4)));
                }
            }
        }
        if (awaited != null) {
            // sent by a coordinator of before sent_commands (a rolling upgrade): the run's own copy
            return Optional.of(awaited);
        }
        // sent before the coordinator kept what it sent: the run's transitions name every command it sent
        try (PreparedStatement ps = c.prepareStatement("select step, action from run_transitions where run_id = ? "
                + "and command_id = ? and note like 'command %' limit 1")) {
            ps.setString(1, runId);
            ps.setString(2, commandId);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    return Optional.of(new IssuedCommand(commandId, runId, rs.getInt(1), rs.getString(2), null,
                            false, null));
                }
            }
        }
        return Optional.empty();
    }

    /** A late restore's drop, kept from the transaction that decided it until Kafka took it or its deadline passed. */
    public record LateDrop(String runId, int step, String target, String traceparent, Run.Pending pending) {
    }

    /**
     * Keeps {@code drop} of {@code target} until {@link #lateDropSent} or its {@code deadline}; a second call for
     * the same command changes nothing.
     */
    public void addLateDrop(Connection c, String runId, String target, String traceparent, Run.Pending drop,
                            Instant deadline) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("insert into late_drops (command_id, run_id, step, target, "
                + "traceparent, pending, deadline) values (?, ?, ?, ?, ?, ?::jsonb, ?) on conflict (command_id) "
                + "do nothing")) {
            ps.setString(1, drop.commandId());
            ps.setString(2, runId);
            ps.setInt(3, drop.step());
            ps.setString(4, target);
            ps.setString(5, traceparent);
            ps.setString(6, toJson(drop));
            ps.setTimestamp(7, ts(deadline));
            if (ps.executeUpdate() == 1) {
                recordSent(c, runId, drop);
            }
        }
    }

    /**
     * The late drops Kafka has not taken yet whose deadline is still ahead, oldest first, at most {@code limit}, each
     * kept more than {@code graceSeconds} ago by the database's clock (a younger one is still being sent by the
     * transition that decided it). A row that cannot be read back is skipped with a warning.
     */
    public List<LateDrop> unsentLateDrops(Connection c, int graceSeconds, int limit) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select run_id, step, target, traceparent, pending, "
                + "command_id from late_drops where sent_at is null and expired_at is null and deadline > now() "
                + "and created_at < now() - make_interval(secs => ?) order by created_at limit ?")) {
            ps.setInt(1, graceSeconds);
            ps.setInt(2, limit);
            ResultSet rs = ps.executeQuery();
            List<LateDrop> drops = new ArrayList<>();
            while (rs.next()) {
                try {
                    drops.add(new LateDrop(rs.getString(1), rs.getInt(2), rs.getString(3), rs.getString(4),
                            Db.json().readValue(rs.getString(5), Run.Pending.class)));
                } catch (IOException e) {
                    LOG.warnf("late drop %s of run %s is unreadable, not sent: %s", rs.getString(6), rs.getString(1),
                            e.getMessage());
                }
            }
            return drops;
        }
    }

    /** Marks the late drops not sent before their deadline as expired (never sent now) and returns them. */
    public List<LateDrop> expireLateDrops(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update late_drops set expired_at = now() where command_id in "
                + "(select command_id from late_drops where sent_at is null and expired_at is null "
                + "and deadline <= now() for update skip locked) returning run_id, step, target, traceparent, "
                + "command_id")) {
            ResultSet rs = ps.executeQuery();
            List<LateDrop> drops = new ArrayList<>();
            while (rs.next()) {
                drops.add(new LateDrop(rs.getString(1), rs.getInt(2), rs.getString(3), rs.getString(4),
                        new Run.Pending(rs.getString(5), null, rs.getInt(2), null, null)));
            }
            return drops;
        }
    }

    public void lateDropSent(Connection c, String commandId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update late_drops set sent_at = now() where command_id = ? "
                + "and sent_at is null")) {
            ps.setString(1, commandId);
            ps.executeUpdate();
        }
    }

    /**
     * Records the reply to late drop {@code commandId} of {@code runId}; false when there is no such drop, or it was
     * answered before (a redelivered or forged reply), so that the reply changes nothing.
     */
    public boolean lateDropReplied(Connection c, String runId, String commandId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update late_drops set replied_at = now() where command_id = ? "
                + "and run_id = ? and replied_at is null")) {
            ps.setString(1, commandId);
            ps.setString(2, runId);
            return ps.executeUpdate() == 1;
        }
    }

    /** A late drop deleted by {@link #purgeLateDrops}; {@code unanswered}: it was sent and no reply ever came. */
    public record PurgedLateDrop(String runId, String commandId, boolean unanswered) {
    }

    /**
     * When a late drop is settled: its reply, its expiry (not sent before its deadline), or the deadline of one sent
     * and never answered; null while it is not sent yet. Index {@code late_drops_settled} is on this expression.
     */
    private static final String SETTLED_AT =
            "coalesce(replied_at, expired_at, case when sent_at is not null then deadline end)";

    /**
     * Deletes at most {@code limit} late drops settled more than {@code retention} ago, oldest first, and returns
     * them. Rows locked by a transaction that is recording a reply or a send right now are skipped (the next purge
     * takes them), so the purge waits for no one and holds its row locks only for this one statement.
     */
    public List<PurgedLateDrop> purgeLateDrops(Connection c, Duration retention, int limit) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from late_drops where command_id in (select command_id "
                + "from late_drops where " + SETTLED_AT + " < now() - make_interval(secs => ?) order by "
                + SETTLED_AT + " limit ? for update skip locked) returning run_id, command_id, "
                + "replied_at is null and expired_at is null")) {
            ps.setDouble(1, retention.toMillis() / 1000.0);
            ps.setInt(2, limit);
            ResultSet rs = ps.executeQuery();
            List<PurgedLateDrop> purged = new ArrayList<>();
            while (rs.next()) {
                purged.add(new PurgedLateDrop(rs.getString(1), rs.getString(2), rs.getBoolean(3)));
            }
            return purged;
        }
    }

    public List<JsonNode> transitions(Connection c, String runId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select json_build_object('at', at, 'step', step, 'action', "
                + "action, 'commandId', command_id, 'from', from_status, 'to', to_status, 'note', note)::text "
                + "from run_transitions where run_id = ? order by id")) {
            ps.setString(1, runId);
            ResultSet rs = ps.executeQuery();
            List<JsonNode> list = new ArrayList<>();
            while (rs.next()) {
                list.add(tree(rs.getString(1)));
            }
            return list;
        }
    }

    public void markEventSent(Connection c, String runId, String column) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update runs set " + column + " = true where id = ?")) {
            ps.setString(1, runId);
            ps.executeUpdate();
        }
    }

    private static Run read(ResultSet rs) throws SQLException {
        Run r = new Run();
        r.id = rs.getString("id");
        r.planId = rs.getString("plan_id");
        try {
            r.plan = Db.json().readValue(rs.getString("plan"), PlanSpec.class);
            String comps = rs.getString("compensations");
            r.compensations = comps == null ? null : Db.json().readValue(comps, ACTIONS);
            String pending = rs.getString("pending");
            r.pending = pending == null ? null : Db.json().readValue(pending, Run.Pending.class);
        } catch (IOException e) {
            throw new IllegalStateException("run " + r.id + " unreadable: " + e.getMessage(), e);
        }
        r.mode = RunMode.valueOf(rs.getString("mode"));
        r.trigger = rs.getString("trigger");
        r.status = RunStatus.valueOf(rs.getString("status"));
        r.phase = Run.Phase.valueOf(rs.getString("phase"));
        r.actionIndex = rs.getInt("action_index");
        r.compIndex = rs.getInt("comp_index");
        r.deadline = instant(rs.getTimestamp("deadline"));
        r.traceparent = rs.getString("traceparent");
        r.data = (ObjectNode) tree(rs.getString("data"));
        r.reason = rs.getString("reason");
        r.startedAt = instant(rs.getTimestamp("started_at"));
        r.forwardFinishedAt = instant(rs.getTimestamp("forward_finished_at"));
        r.finishedAt = instant(rs.getTimestamp("finished_at"));
        return r;
    }

    private static JsonNode tree(String json) {
        try {
            return json == null ? null : Db.json().readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
