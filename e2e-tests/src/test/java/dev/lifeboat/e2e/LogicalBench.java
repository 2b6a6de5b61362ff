package dev.lifeboat.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.testsupport.Databases;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The logical path's figures, one run, for deploy/bench/logical.sh (not a test: its name keeps it out of the test
 * run; the script runs it with {@code -Dit.test=LogicalBench}). On the packaged platform: the fixed cost of a FULL of
 * a tiny database (several times), a FULL of the database {@code lifeboat.bench.database} and a drill restoring it
 * (the RestoreDatabase step's fetch and pg_restore times). A FULL is timed from the request until the catalog recorded
 * it COMPLETED (when it received BackupCompleted), not until the bench's next look saw it; with
 * {@code lifeboat.bench.database=none} only the tiny rounds. Prints
 * {@code BENCH key=value} lines, and the catalog entry of one tiny backup for where its time went.
 */
class LogicalBench {
    private static final String TINY_DB = "bench_tiny";

    @Test
    void logicalPathFigures() throws Exception {
        // "none": only the tiny rounds
        String database = System.getProperty("lifeboat.bench.database", "bench_logical");
        int tinyRuns = Integer.getInteger("lifeboat.bench.tiny-runs", 5);
        // every run has a master key of its own, so its sources get repositories of their own
        String benchId = Long.toString(System.currentTimeMillis(), 36);
        String tinySource = "bench-tiny-" + benchId;
        String largeSource = "bench-logical-" + benchId;
        Databases.createDatabase(TINY_DB);
        Databases.execute(TINY_DB, "create table if not exists public.t (id int primary key, note text); "
                + "insert into public.t select g, 'n' || g from generate_series(1, 100) g on conflict do nothing");
        // a loaded machine starts six JVMs slowly
        // snapshot-worker's start-up warm-up as in production (64 MiB), not the tests' smaller one
        // and scheduler-service's outbox relay on its production interval (1 s besides the wake-up on each new row),
        // not the tests' 200 ms
        Map<String, String> env = new LinkedHashMap<>(Map.of("LIFEBOAT_SNAPSHOT_WARMUP_BYTES",
                String.valueOf(64 << 20), "OUTBOX_RELAY_INTERVAL", "1s"));
        // e.g. a flight recording of every service: -XX:StartFlightRecording=filename=/tmp/bench-%p.jfr
        String javaOptions = System.getProperty("lifeboat.bench.java-tool-options", "");
        if (!javaOptions.isBlank()) {
            env.put("JAVA_TOOL_OPTIONS", javaOptions);
        }
        try (Platform platform = Platform.start(1, env, Duration.ofMinutes(8))) {
            // one snapshot-worker, as a deployment on one machine runs: the platform's second one (there for the
            // failover tests) would idle on the same 2 cores, and whichever of the two a restore's command reached
            // would be the one that had done no FULL yet
            platform.snapshotB.stop();
            platform.registerSource(tinySource, "127.0.0.1", platform.stack.pgPort(), TINY_DB);

            full(platform, tinySource, Duration.ofMillis(100)); // warms every service's first-use paths
            List<Long> tiny = new ArrayList<>();
            List<Timed> tinyRounds = new ArrayList<>();
            for (int i = 0; i < tinyRuns; i++) {
                Timed t = full(platform, tinySource, Duration.ofMillis(100));
                tiny.add(t.recordedMillis());
                tinyRounds.add(t);
            }
            List<Long> sorted = tiny.stream().sorted().toList();
            System.out.println("BENCH tiny_full_ms=" + tiny);
            System.out.println("BENCH tiny_full_median_ms=" + sorted.get(sorted.size() / 2));
            System.out.println("BENCH tiny_entry=" + tinyRounds.getLast().entry());
            System.out.println("BENCH tiny_hops_median_ms=" + Hops.medians(tinyRounds.stream()
                    .map(Hops::of).toList()));
            if (database.equals("none")) {
                return;
            }

            platform.registerSource(largeSource, "127.0.0.1", platform.stack.pgPort(), database);
            // the first FULL of a fresh worker, then (lifeboat.bench.full-rounds > 1) the same worker's next ones
            int fullRounds = Integer.getInteger("lifeboat.bench.full-rounds", 1);
            List<Long> fulls = new ArrayList<>();
            // lifeboat.bench.bare-dir: the bare tools' round just before each of Lifeboat's, on the same database
            Bare bare = Bare.of(platform.stack.pgPort(), database);
            List<Long> bareFulls = new ArrayList<>();
            Timed large = null;
            for (int i = 0; i < fullRounds; i++) {
                if (bare != null) {
                    bareFulls.add(bare.full());
                }
                // timed until the catalog recorded it COMPLETED, so the bench's looks can be rare: each is a
                // signed-token request the catalog verifies and answers from its database, on the 2 cores the FULL
                // runs on
                large = full(platform, largeSource, Duration.ofSeconds(1));
                fulls.add(large.recordedMillis());
                System.out.println("BENCH full_round_" + i + "_uploaded=" + large.entry().at("/transfer/bytesUploaded")
                        .asLong());
                System.out.println("BENCH full_round_" + i + "_hops_ms=" + Hops.of(large));
            }
            System.out.println("BENCH full_rounds_ms=" + fulls);
            if (bare != null) {
                System.out.println("BENCH bare_full_rounds_ms=" + bareFulls);
            }
            System.out.println("BENCH full_ms=" + fulls.getFirst());
            System.out.println("BENCH full_bytes_read=" + large.entry().at("/transfer/bytesRead").asLong());
            System.out.println("BENCH full_bytes_uploaded=" + large.entry().at("/transfer/bytesUploaded").asLong());
            // lifeboat.bench.change-sql: a change run on the database, then an INCREMENTAL, for the share of the
            // FULL it uploads
            String change = System.getProperty("lifeboat.bench.change-sql", "");
            if (!change.isBlank()) {
                Databases.execute(database, Files.readString(Path.of(change)));
                Timed incremental = backup(platform, largeSource, "INCREMENTAL", Duration.ofSeconds(1));
                long uploaded = incremental.entry().at("/transfer/bytesUploaded").asLong();
                System.out.println("BENCH incremental_ms=" + incremental.recordedMillis());
                System.out.println("BENCH incremental_uploaded=" + uploaded);
                System.out.println("BENCH incremental_chunks=" + incremental.entry().at("/transfer/chunksUploaded")
                        .asLong() + "/" + incremental.entry().at("/transfer/chunksTotal").asLong());
                System.out.printf("BENCH incremental_share=%.3f%n",
                        (double) uploaded / large.entry().at("/transfer/bytesUploaded").asLong());
            }
            System.out.println("BENCH full_chunks=" + large.entry().at("/transfer/chunksTotal").asLong());

            platform.registerTarget("bench", "^drill_.*");
            Map<String, Object> plan = new LinkedHashMap<>();
            String planId = "bench-restore-" + Long.toString(System.currentTimeMillis(), 36);
            plan.put("id", planId);
            plan.put("name", "logical restore benchmark");
            plan.put("rto", "PT1H");
            plan.put("rpo", "PT1H");
            plan.put("steps", List.of(Map.of("kind", "RestoreDatabase", "sourceId", largeSource,
                    "backup", "latest", "target", "bench", "database", "drill_bench", "jobs", 2)));
            Platform.Response created = Platform.send("POST", platform.coordinatorUrl("/api/v1/plans"), plan);
            check(created.status() == 201, "plan: " + created.body());
            // the first drill of the worker, then (lifeboat.bench.restore-rounds > 1) its next ones
            int restoreRounds = Integer.getInteger("lifeboat.bench.restore-rounds", 1);
            List<Long> bareRestores = new ArrayList<>();
            for (int i = 0; i < restoreRounds; i++) {
                if (bare != null) {
                    bareRestores.add(bare.restore());
                }
                JsonNode steps = drill(platform, planId);
                if (i == 0) {
                    System.out.println("BENCH restore_steps=" + steps);
                }
                System.out.println("BENCH restore_round_" + i + "_steps=" + steps);
            }
            if (bare != null) {
                System.out.println("BENCH bare_restore_rounds_ms=" + bareRestores);
            }
        }
    }

    /**
     * The bare tools, each round run just before Lifeboat's of the same kind, so that both meet the load of the moment
     * (the machine's other work, the writer, the platform idling): {@code pg_dump -Fc -Z0 | zstd -1} to a file, and
     * {@code pg_restore -j2} of a directory dump ({@code lifeboat.bench.bare-dir}/dump, which the script made with
     * {@code pg_dump -Fd -Z0 -j2}) into a fresh database (its creation not timed). Null without
     * {@code lifeboat.bench.bare-dir}.
     */
    private record Bare(int pgPort, String database, Path dir) {
        static Bare of(int pgPort, String database) {
            String dir = System.getProperty("lifeboat.bench.bare-dir", "");
            return dir.isBlank() ? null : new Bare(pgPort, database, Path.of(dir));
        }

        long full() throws Exception {
            Path out = dir.resolve("pipe.zst");
            long ms = timed("pg_dump -h 127.0.0.1 -p " + pgPort + " -U postgres --format=custom --compress=0 "
                    + database + " | zstd -q -1 > " + out);
            Files.deleteIfExists(out);
            return ms;
        }

        long restore() throws Exception {
            String target = database + "_bare";
            Databases.createDatabase(target);
            try {
                return timed("pg_restore -h 127.0.0.1 -p " + pgPort + " -U postgres --jobs=2 --no-owner "
                        + "--exit-on-error -d " + target + " " + dir.resolve("dump"));
            } finally {
                Databases.dropDatabase(target);
            }
        }

        /** Runs {@code command} with bash (pipefail), its output to the bench's log; milliseconds it took. */
        private static long timed(String command) throws Exception {
            long started = System.nanoTime();
            Process p = new ProcessBuilder("bash", "-o", "pipefail", "-c", command).inheritIO().start();
            check(p.waitFor(30, java.util.concurrent.TimeUnit.MINUTES), "still running after 30 min: " + command);
            check(p.exitValue() == 0, "exit " + p.exitValue() + ": " + command);
            return (System.nanoTime() - started) / 1_000_000;
        }
    }

    /** Runs the plan as a drill until it ends; its steps (each timed by the step itself). */
    private static JsonNode drill(Platform platform, String planId) throws InterruptedException {
        Platform.Response started = Platform.send("POST", platform.coordinatorUrl("/api/v1/plans/" + planId
                + "/runs"), Map.of("mode", "drill"));
        check(started.status() == 202, "run: " + started.body());
        String runId = started.json().get("runId").asText();
        Instant end = Instant.now().plus(Duration.ofMinutes(15));
        // the step times itself; a look every 100 ms took 5-10 % of the 2 cores the restore runs on. The run's
        // status is read from the coordinator's table, not through its API, so that watching the restore adds no
        // requests (token checks, the run's steps assembled) to the services running it
        String status;
        while (!Set.of("SUCCEEDED", "FAILED", "COMPENSATED").contains(status = runStatus(runId))) {
            check(Instant.now().isBefore(end), "drill still " + status + " after 15 min");
            Thread.sleep(1000);
        }
        JsonNode run = Platform.send("GET", platform.coordinatorUrl("/api/v1/runs/" + runId), null).json();
        check(run.get("status").asText().equals("SUCCEEDED"), "drill ended " + run);
        return run.get("steps");
    }

    /** The run's status as the coordinator last stored it. */
    private static String runStatus(String runId) {
        try (java.sql.Connection c = Databases.connect(Platform.PLATFORM_DB);
             java.sql.PreparedStatement ps = c.prepareStatement("select status from recovery.runs where id = ?")) {
            ps.setString(1, runId);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                check(rs.next(), "run " + runId + ": not in the coordinator's table");
                return rs.getString(1);
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("reading the status of run " + runId + ": " + e.getMessage(), e);
        }
    }

    /**
     * One FULL: its id, when it was requested, when the catalog recorded it COMPLETED (the platform's own time,
     * whatever the bench's polling interval) and when the bench saw it so.
     */
    private record Timed(JsonNode entry, String backupId, Instant requested, Instant recorded, Instant seen) {
        long recordedMillis() {
            return Duration.between(requested, recorded).toMillis();
        }
    }

    /**
     * Where one FULL's time went between the services, from the times each of them recorded in its own schema of the
     * platform database (one machine, one clock): the scheduler's request row and its outbox row's send, the
     * snapshot-worker's claim of the job, the SnapshotCreated event's time, the storage-worker's verdict, and when the
     * catalog received BackupCompleted.
     */
    private static final class Hops {
        static final List<String> NAMES = List.of("post_to_row", "row_to_relayed", "relayed_to_claimed",
                "claimed_to_snapshot_created", "snapshot_created_to_verdict", "verdict_to_catalog_received",
                "catalog_received_to_seen");

        static Map<String, Long> of(Timed full) {
            String backupId = full.backupId();
            try (java.sql.Connection c = Databases.connect(Platform.PLATFORM_DB);
                 java.sql.PreparedStatement ps = c.prepareStatement("""
                         select r.requested_at,
                                (select o.sent_at from scheduler.outbox o where o.payload like '%' || ? || '%'
                                  order by o.sent_at limit 1),
                                (select j.started_at from snapshot.job j where j.backup_id = ?::uuid),
                                (select e.occurred_at from catalog.backup_event e where e.backup_id = ?
                                  and e.event_type = 'dev.lifeboat.backup.snapshot-created.v1'),
                                (select v.sealed_at from storage.sealed_backup v where v.backup_id = ?::uuid)
                         from scheduler.backup_request r where r.backup_id = ?::uuid""")) {
                for (int i = 1; i <= 5; i++) {
                    ps.setString(i, backupId);
                }
                try (java.sql.ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), "backup " + backupId + " is not in scheduler.backup_request");
                    List<Instant> at = new ArrayList<>(List.of(full.requested()));
                    for (int i = 1; i <= 5; i++) {
                        java.sql.Timestamp t = rs.getTimestamp(i);
                        check(t != null, "backup " + backupId + ": time " + i + " of its hops was not recorded");
                        at.add(t.toInstant());
                    }
                    at.add(full.recorded());
                    at.add(full.seen());
                    Map<String, Long> hops = new LinkedHashMap<>();
                    for (int i = 0; i < NAMES.size(); i++) {
                        hops.put(NAMES.get(i), Duration.between(at.get(i), at.get(i + 1)).toMillis());
                    }
                    return hops;
                }
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException("reading the hops of backup " + backupId + ": " + e.getMessage(), e);
            }
        }

        /** When the catalog received the backup's BackupCompleted: the moment it shows the backup COMPLETED. */
        static Instant completedReceived(String backupId) {
            try (java.sql.Connection c = Databases.connect(Platform.PLATFORM_DB);
                 java.sql.PreparedStatement ps = c.prepareStatement("select e.received_at from catalog.backup_event e"
                         + " where e.backup_id = ? and e.event_type = 'dev.lifeboat.backup.completed.v1'")) {
                ps.setString(1, backupId);
                try (java.sql.ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), "backup " + backupId + ": the catalog recorded no BackupCompleted");
                    return rs.getTimestamp(1).toInstant();
                }
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException("reading when backup " + backupId + " was recorded COMPLETED: "
                        + e.getMessage(), e);
            }
        }

        static Map<String, Long> medians(List<Map<String, Long>> rounds) {
            Map<String, Long> out = new LinkedHashMap<>();
            for (String name : NAMES) {
                List<Long> values = rounds.stream().map(r -> r.get(name)).sorted().toList();
                out.put(name, values.get(values.size() / 2));
            }
            return out;
        }
    }

    /** A FULL of {@code source}, timed from the request until the catalog recorded it COMPLETED. */
    private static Timed full(Platform platform, String source, Duration poll) throws InterruptedException {
        return backup(platform, source, "FULL", poll);
    }

    /** A backup of {@code type}, timed from the request until the catalog recorded it COMPLETED. */
    private static Timed backup(Platform platform, String source, String type, Duration poll)
            throws InterruptedException {
        Instant requested = Instant.now();
        Platform.Response r = Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                Map.of("sourceId", source, "type", type));
        check(r.status() == 202, "backup request: " + r.body());
        String id = r.json().get("backupId").asText();
        Instant end = Instant.now().plus(Duration.ofMinutes(15));
        while (true) {
            Platform.Response e = Platform.send("GET", platform.catalogUrl("/api/v1/backups/" + id), null);
            if (e.status() == 200) {
                String status = e.json().get("status").asText();
                if (status.equals("COMPLETED")) {
                    Instant seen = Instant.now();
                    return new Timed(e.json(), id, requested, Hops.completedReceived(id), seen);
                }
                check(!status.equals("FAILED"), "backup " + id + " failed: " + e.body());
            }
            check(Instant.now().isBefore(end), "backup " + id + " not COMPLETED after 15 min");
            Thread.sleep(poll.toMillis());
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }
}
