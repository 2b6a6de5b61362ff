package dev.lifeboat.recovery.repository;

import dev.lifeboat.recovery.domain.TargetServer;
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
public class TargetRepository {

    public List<TargetServer> list(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select * from target_servers order by name")) {
            return read(ps.executeQuery());
        }
    }

    public Optional<TargetServer> find(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select * from target_servers where name = ?")) {
            ps.setString(1, name);
            return read(ps.executeQuery()).stream().findFirst();
        }
    }

    /** Read under a row lock, so that a plan check and a delete of the same target serialize. */
    public Optional<TargetServer> lock(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select * from target_servers where name = ? for update")) {
            ps.setString(1, name);
            return read(ps.executeQuery()).stream().findFirst();
        }
    }

    /** Inserts or replaces; true when it was created. Keeps the first creation time. */
    public boolean upsert(Connection c, TargetServer t) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("insert into target_servers (name, kind, host, port, "
                + "username, password_ref, database_pattern, data_root, port_range, created_at, updated_at, "
                + "created_by, updated_by, sslmode, ssl_root_cert_ref) "
                + "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                + "on conflict (name) do update set kind = excluded.kind, host = excluded.host, port = excluded.port, "
                + "username = excluded.username, password_ref = excluded.password_ref, "
                + "database_pattern = excluded.database_pattern, data_root = excluded.data_root, "
                + "port_range = excluded.port_range, updated_at = excluded.updated_at, "
                + "updated_by = excluded.updated_by, sslmode = excluded.sslmode, "
                + "ssl_root_cert_ref = excluded.ssl_root_cert_ref "
                + "returning (xmax = 0) as inserted")) {
            ps.setString(1, t.name());
            ps.setString(2, t.kind());
            ps.setString(3, t.host());
            ps.setObject(4, t.port(), java.sql.Types.INTEGER);
            ps.setString(5, t.user());
            ps.setString(6, t.passwordRef());
            ps.setString(7, t.databasePattern());
            ps.setString(8, t.dataRoot());
            ps.setString(9, t.ports());
            ps.setTimestamp(10, ts(t.createdAt()));
            ps.setTimestamp(11, ts(t.updatedAt()));
            ps.setString(12, t.createdBy());
            ps.setString(13, t.updatedBy());
            ps.setString(14, t.sslmode());
            ps.setString(15, t.sslRootCertRef());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    public boolean delete(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from target_servers where name = ?")) {
            ps.setString(1, name);
            return ps.executeUpdate() == 1;
        }
    }

    /** Ids of the plans with a RestoreDatabase or RestoreCluster step on the target. */
    public List<String> plansUsing(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select id from plans p where exists (select 1 from "
                + "jsonb_array_elements(p.steps) s where s->>'kind' in ('RestoreDatabase', 'RestoreCluster') and s->>'target' = ?) "
                + "order by id")) {
            ps.setString(1, name);
            List<String> ids = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getString(1));
                }
            }
            return ids;
        }
    }

    private static List<TargetServer> read(ResultSet rs) throws SQLException {
        List<TargetServer> list = new ArrayList<>();
        while (rs.next()) {
            list.add(new TargetServer(rs.getString("name"), rs.getString("kind"), rs.getString("host"),
                    rs.getObject("port", Integer.class), rs.getString("username"), rs.getString("password_ref"),
                    rs.getString("database_pattern"), rs.getString("sslmode"), rs.getString("ssl_root_cert_ref"),
                    rs.getString("data_root"), rs.getString("port_range"),
                    instant(rs.getTimestamp("created_at")), instant(rs.getTimestamp("updated_at")),
                    rs.getString("created_by"), rs.getString("updated_by")));
        }
        return list;
    }
}
