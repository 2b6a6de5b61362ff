package dev.lifeboat.recovery.repository;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.lifeboat.recovery.domain.PlanSpec;
import dev.lifeboat.recovery.domain.PlanStep;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static dev.lifeboat.recovery.repository.Db.instant;
import static dev.lifeboat.recovery.repository.Db.ts;

@ApplicationScoped
public class PlanRepository {
    private static final TypeReference<List<PlanStep>> STEPS = new TypeReference<>() {
    };
    public List<PlanSpec> list(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select * from plans order by created_at, id")) {
            return read(ps.executeQuery());
        }
    }

    public Optional<PlanSpec> find(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select * from plans where id = ?")) {
            ps.setString(1, id);
            return read(ps.executeQuery()).stream().findFirst();
        }
    }

    /** True when inserted, false when the id exists. */
    public boolean insert(Connection c, PlanSpec p) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("insert into plans (id, name, rto_millis, rpo_millis, "
                + "drill_schedule, step_timeout, steps, created_at, updated_at, rto, rpo, created_by, updated_by) "
                + "values (?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?) on conflict (id) do nothing")) {
            bind(ps, p);
            return ps.executeUpdate() == 1;
        }
    }

    public boolean update(Connection c, PlanSpec p) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update plans set name = ?, rto_millis = ?, rpo_millis = ?, "
                + "drill_schedule = ?, step_timeout = ?, steps = ?::jsonb, updated_at = ?, rto = ?, rpo = ?, "
                + "updated_by = ? where id = ?")) {
            ps.setString(1, p.name());
            ps.setLong(2, p.rtoDuration().toMillis());
            ps.setLong(3, p.rpoDuration().toMillis());
            ps.setString(4, p.drillSchedule());
            ps.setString(5, p.stepTimeout());
            ps.setString(6, Db.json().writerFor(STEPS).writeValueAsString(p.steps()));
            ps.setTimestamp(7, ts(p.updatedAt()));
            ps.setString(8, p.rto());
            ps.setString(9, p.rpo());
            ps.setString(10, p.updatedBy());
            ps.setString(11, p.id());
            return ps.executeUpdate() == 1;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    public boolean delete(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from plans where id = ?")) {
            ps.setString(1, id);
            return ps.executeUpdate() == 1;
        }
    }

    private static void bind(PreparedStatement ps, PlanSpec p) throws SQLException {
        try {
            ps.setString(1, p.id());
            ps.setString(2, p.name());
            ps.setLong(3, p.rtoDuration().toMillis());
            ps.setLong(4, p.rpoDuration().toMillis());
            ps.setString(5, p.drillSchedule());
            ps.setString(6, p.stepTimeout());
            ps.setString(7, Db.json().writerFor(STEPS).writeValueAsString(p.steps()));
            ps.setTimestamp(8, ts(p.createdAt()));
            ps.setTimestamp(9, ts(p.updatedAt()));
            ps.setString(10, p.rto());
            ps.setString(11, p.rpo());
            ps.setString(12, p.createdBy());
            ps.setString(13, p.updatedBy());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    public static List<PlanStep> steps(String json) {
        try {
            return Db.json().readValue(json, STEPS);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("stored steps unreadable: " + e.getMessage(), e);
        }
    }

    private static List<PlanSpec> read(ResultSet rs) throws SQLException {
        List<PlanSpec> plans = new ArrayList<>();
        while (rs.next()) {
            plans.add(new PlanSpec(rs.getString("id"), rs.getString("name"), rs.getString("rto"), rs.getString("rpo"),
                    rs.getString("drill_schedule"), rs.getString("step_timeout"), steps(rs.getString("steps")),
                    instant(rs.getTimestamp("created_at")), instant(rs.getTimestamp("updated_at")),
                    rs.getString("created_by"), rs.getString("updated_by")));
        }
        return plans;
    }
}
