package dev.lifeboat.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.e2e.SoakPlan.Fault;
import dev.lifeboat.e2e.SoakPlan.FaultKind;
import dev.lifeboat.e2e.SoakPlan.Work;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fault-injection soak against the packaged platform: three sources under write load, each with a policy firing
 * every minute, on-demand backups and drills, two instances of each worker; meanwhile an injector kills instances
 * (kill -9, restarted a few seconds later), stops PostgreSQL, the object store and the broker (same data, started
 * again) and holds a lock on a source table, all on the schedule of {@link SoakPlan}. Then the work drains and
 * {@link SoakChecks} decides whether anything got stuck, lost or falsely completed.
 */
final class Soak {
    static final int SOURCES = 3;
    final SoakSettings settings;
    final Platform platform;
    final String run = Long.toString(System.currentTimeMillis(), 36);
    final List<String> sourceIds = new ArrayList<>();
    final List<String> databases = new ArrayList<>();
    final List<String> policyIds = new ArrayList<>();
    final List<String> planIds = new ArrayList<>();
    final String target;
    SoakPlan plan;
    Instant windowStart;
    Instant cutoff;
    /** Start offsets of the topics read at the end, taken before any work was requested. */
    Map<String, Map<Integer, Long>> startOffsets;

    /** On-demand backups the scheduler accepted: id and when. */
    final Map<String, Instant> accepted = new ConcurrentHashMap<>();
    /** Drill runs the coordinator accepted: id and when. */
    final Map<String, Instant> drills = new ConcurrentHashMap<>();
    /** Requests the platform refused (HTTP error or unreachable) after retrying: the client knows; not lost. */
    final List<String> refused = new CopyOnWriteArrayList<>();
    /** What was actually injected, by kind, and what could not be (with why). */
    final Map<FaultKind, AtomicLong> injected = new EnumMap<>(FaultKind.class);
    final List<String> faultLog = new CopyOnWriteArrayList<>();
    final List<String> harnessErrors = new CopyOnWriteArrayList<>();
    final AtomicLong rowsWritten = new AtomicLong();
    private final AtomicBoolean writing = new AtomicBoolean(true);

    Soak(SoakSettings settings, Platform platform) {
        this.settings = settings;
        this.platform = platform;
        this.target = "soak-" + run;
        for (FaultKind k : FaultKind.values()) {
            injected.put(k, new AtomicLong());
        }
    }

    static void log(String message) {
        System.out.println("[soak " + Instant.now() + "] " + message);
    }

    /** Sources, their databases, policies (every minute, GFS keeping one a day), drill plans and the first fulls. */
    void prepare() {
        startOffsets = SoakChecks.endOffsets(platform.stack);
        platform.registerTarget(target, "^(drill_|soak_dr_).*");
        for (int i = 0; i < SOURCES; i++) {
            String db = "soak_" + run + "_" + i;
            String source = "soak-" + run + "-" + i;
            Databases.createDatabase(db);
            Databases.loadSample(db, 1);
            Databases.execute(db, "CREATE SCHEMA soak; CREATE TABLE soak.writes (id bigserial PRIMARY KEY, "
                    + "at timestamptz NOT NULL DEFAULT now(), payload text NOT NULL)");
            platform.registerSource(source, "127.0.0.1", platform.stack.pgPort(), db);
            databases.add(db);
            sourceIds.add(source);
            String policy = "soak-" + run + "-" + i;
            BackupType type = i % 2 == 0 ? BackupType.INCREMENTAL : BackupType.DIFFERENTIAL;
            expect(Platform.send("POST", platform.schedulerUrl("/api/v1/policies"), Map.of("id", policy,
                    "sourceId", source, "type", type.name(), "schedule", "* * * * *",
                    "retention", Map.of("daily", 1, "weekly", 0, "monthly", 0))), 201, "creating policy " + policy);
            policyIds.add(policy);
            String planId = "soak-" + run + "-" + i;
            Map<String, Object> plan = new LinkedHashMap<>();
            plan.put("id", planId);
            plan.put("name", "soak drill of " + source);
            plan.put("rto", "PT15M");
            plan.put("rpo", "PT1H");
            plan.put("steps", List.of(
                    Map.of("kind", "RestoreDatabase", "sourceId", source, "backup", "latest", "target", target,
                            "database", "soak_dr_" + run + "_" + i, "jobs", 1),
                    Map.of("kind", "VerifyIntegrity", "checksums", true, "checks", List.of(Map.of(
                            "name", "every table as backed up", "kind", "TABLE_MATCHES_SOURCE", "table", "*")))));
            expect(Platform.send("POST", platform.coordinatorUrl("/api/v1/plans"), plan), 201, "creating plan " + planId);
            planIds.add(planId);
        }
        for (int i = 0; i < SOURCES; i++) {
            requestBackup(i, BackupType.FULL, true);
        }
    }

    private static void expect(Platform.Response r, int status, String what) {
        if (r.status() != status) {
            throw new IllegalStateException(what + " answered " + r.status() + ": " + r.body());
        }
    }

    /** Runs the window: writers, the two fault lanes and the work, each on its own thread, until all are done. */
    void runWindow() throws InterruptedException {
        List<String> instances = platform.processes.stream().map(p -> p.name()).toList();
        plan = SoakPlan.draw(settings, instances, SOURCES);
        log(plan.describe());
        windowStart = Instant.now();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < SOURCES; i++) {
            int src = i;
            threads.add(Thread.ofPlatform().name("soak-writer-" + i).daemon().start(() -> write(src)));
        }
        List<Thread> lanes = new ArrayList<>();
        lanes.add(thread("soak-outages", () -> runFaults(plan.faults().stream().filter(f -> isOutage(f.kind())).toList())));
        lanes.add(thread("soak-processes", () -> runFaults(plan.faults().stream().filter(f -> !isOutage(f.kind())).toList())));
        lanes.add(thread("soak-work", this::runWork));
        for (Thread t : lanes) {
            t.join();
        }
        bringEverythingBack();
        cutoff = Instant.now();
        writing.set(false);
        for (Thread t : threads) {
            t.join(15_000);
        }
        log("window over after " + Duration.between(windowStart, cutoff).toSeconds() + " s; " + rowsWritten.get()
                + " rows written; faults " + injected);
    }

    private Thread thread(String name, Runnable body) {
        return Thread.ofPlatform().name(name).start(() -> {
            try {
                body.run();
            } catch (RuntimeException e) {
                harnessErrors.add(name + ": " + e);
                log(name + " stopped: " + e);
            }
        });
    }

    private static boolean isOutage(FaultKind k) {
        return k == FaultKind.STOP_POSTGRES || k == FaultKind.STOP_OBJECT_STORE || k == FaultKind.STOP_BROKER;
    }

    private void sleepUntil(Duration offset) {
        long ms = Duration.between(Instant.now(), windowStart.plus(offset)).toMillis();
        if (ms > 0) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    private void runFaults(List<Fault> faults) {
        for (Fault f : faults) {
            sleepUntil(f.at());
            long t0 = System.nanoTime();
            try {
                inject(f);
            } catch (RuntimeException e) {
                faultLog.add(f + " FAILED TO INJECT: " + e.getMessage());
                harnessErrors.add("injecting " + f + ": " + e.getMessage());
                log("injecting " + f + " failed: " + e);
                continue;
            }
            faultLog.add(f + " done in " + (System.nanoTime() - t0) / 1_000_000_000 + " s");
        }
    }

    private void inject(Fault f) {
        switch (f.kind()) {
            case STOP_POSTGRES -> outage("postgres", f);
            case STOP_OBJECT_STORE -> outage("s3", f);
            case STOP_BROKER -> outage("kafka", f);
            case KILL_INSTANCE -> {
                log("kill -9 " + platform.instance(f.target()));
                platform.instance(f.target()).kill9();
                injected.get(f.kind()).incrementAndGet();
                pause(f.length());
                restart(f.target());
            }
            case HOLD_SOURCE_LOCK -> holdLock(Integer.parseInt(f.target().substring("source ".length())), f);
        }
    }

    private void outage(String server, Fault f) {
        log("stopping " + server + " for " + f.length().toSeconds() + " s");
        try {
            platform.stack.stopServer(server);
            injected.get(f.kind()).incrementAndGet();
            pause(f.length());
        } finally {
            startServer(server);
        }
        log(server + " back");
    }

    /** Starting a server again is retried: leaving it down would make every later finding meaningless. */
    private void startServer(String server) {
        RuntimeException last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            try {
                platform.stack.startServer(server);
                return;
            } catch (RuntimeException e) {
                last = e;
                log("starting " + server + " again failed (" + e.getMessage() + "), retrying");
                pause(Duration.ofSeconds(5));
            }
        }
        throw new IllegalStateException("cannot start " + server + " again", last);
    }

    private void restart(String instance) {
        // a start can meet an outage of the other fault lane: tried again until twice the ready time has passed
        long deadline = System.nanoTime() + settings.ready().multipliedBy(2).toNanos();
        while (true) {
            try {
                platform.restart(instance, settings.ready());
                log(instance + " restarted");
                return;
            } catch (RuntimeException e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(instance + " not ready again within " + settings.ready().multipliedBy(2) + ": "
                            + e.getMessage(), e);
                }
                log(instance + " did not come back (" + firstLine(e.getMessage()) + "), starting it again");
                pause(Duration.ofSeconds(5));
            }
        }
    }

    /**
     * An ACCESS EXCLUSIVE lock on shop.orders, as a long migration would hold it: pg_dump and the fingerprints wait
     * for it. Taken as soon as PostgreSQL answers (retrying while another lane has it stopped).
     */
    private void holdLock(int src, Fault f) {
        Instant giveUp = Instant.now().plus(f.length()).plus(Duration.ofSeconds(90));
        while (Instant.now().isBefore(giveUp)) {
            try (Connection c = connect(databases.get(src))) {
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.execute("LOCK TABLE shop.orders IN ACCESS EXCLUSIVE MODE");
                    injected.get(f.kind()).incrementAndGet();
                    log("holding an exclusive lock on " + databases.get(src) + ".shop.orders for "
                            + f.length().toSeconds() + " s");
                    pause(f.length());
                    c.rollback();
                    log("lock on " + databases.get(src) + ".shop.orders released");
                    return;
                }
            } catch (SQLException e) {
                pause(Duration.ofSeconds(2));
            }
        }
        throw new IllegalStateException("could not take the lock on source " + src + " (PostgreSQL away?)");
    }

    private void runWork() {
        int backups = 0;
        for (Work w : plan.work()) {
            sleepUntil(w.at());
            switch (w.kind()) {
                // the first of each source and type are outside retention: each (source, type) keeps one to restore
                case BACKUP -> requestBackup(w.source(), w.type(), backups++ >= SOURCES * BackupType.values().length);
                case DRILL -> startDrill(w.source());
            }
        }
    }

    /** On demand; with the source's policy, retention treats it as one of the policy's backups. */
    void requestBackup(int src, BackupType type, boolean withPolicy) {
        Map<String, Object> body = new LinkedHashMap<>(Map.of("sourceId", sourceIds.get(src), "type", type.name()));
        if (withPolicy) {
            body.put("policyId", policyIds.get(src));
        }
        Platform.Response r = submit("POST", platform.schedulerUrl("/api/v1/backups"), body, 202,
                type + " of source " + src);
        if (r != null) {
            accepted.put(r.json().get("backupId").asText(), Instant.now());
        }
    }

    private void startDrill(int src) {
        Platform.Response r = submit("POST", platform.coordinatorUrl("/api/v1/plans/" + planIds.get(src) + "/runs"),
                Map.of("mode", "drill"), 202, "drill of source " + src);
        if (r != null) {
            drills.put(r.json().get("runId").asText(), Instant.now());
        }
    }

    /**
     * A client that retries for 2 minutes, as an operator's script would; what is still refused then is counted. Two
     * minutes outlast the longest outage injected (90 s), including a service killed while PostgreSQL is stopped,
     * which stays down until PostgreSQL is back.
     */
    private Platform.Response submit(String method, String url, Object body, int expected, String what) {
        Instant giveUp = Instant.now().plusSeconds(120);
        String last = "";
        while (Instant.now().isBefore(giveUp)) {
            try {
                Platform.Response r = Platform.send(method, url, body);
                if (r.status() == expected) {
                    return r;
                }
                last = r.status() + " " + firstLine(r.body());
            } catch (RuntimeException e) {
                last = firstLine(e.getMessage());
            }
            pause(Duration.ofSeconds(2));
        }
        refused.add(what + " at " + Instant.now() + ": " + last);
        log("refused: " + what + ": " + last);
        return null;
    }

    /** Inserts and updates rows all along, so that every backup sees a different database. */
    private void write(int src) {
        while (writing.get()) {
            try (Connection c = connect(databases.get(src)); Statement st = c.createStatement()) {
                st.execute("SET statement_timeout = '5s'");
                while (writing.get()) {
                    st.execute("INSERT INTO soak.writes (payload) VALUES (md5(random()::text))");
                    st.execute("UPDATE soak.writes SET payload = md5(payload) WHERE id = (SELECT max(id) / 2 FROM soak.writes)");
                    rowsWritten.incrementAndGet();
                    Thread.sleep(200);
                }
            } catch (SQLException e) {
                pause(Duration.ofSeconds(1));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    Connection connect(String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", platform.stack.pgSuperUser());
        p.setProperty("password", platform.stack.pgSuperPassword());
        p.setProperty("connectTimeout", "5");
        p.setProperty("socketTimeout", "30");
        p.setProperty("ApplicationName", "lifeboat-soak");
        return DriverManager.getConnection(platform.stack.jdbcUrl(database), p);
    }

    /** After the window: every server up and every instance alive (restarts any that died on their own). */
    private void bringEverythingBack() {
        for (String server : List.of("postgres", "s3", "kafka")) {
            int port = switch (server) {
                case "postgres" -> platform.stack.pgPort();
                case "s3" -> Integer.parseInt(platform.stack.s3Endpoint().replaceAll(".*:", ""));
                default -> Integer.parseInt(platform.stack.kafkaBootstrap().replaceAll(".*:", ""));
            };
            if (!LocalStack.portOpen(port)) {
                harnessErrors.add(server + " was down at the end of the window");
                startServer(server);
            }
        }
        for (var p : platform.processes) {
            if (!p.isAlive()) {
                harnessErrors.add(p.name() + " had exited on its own by the end of the window; last log lines:\n"
                        + p.logTail(20));
                restart(p.name());
            }
        }
    }

    void cleanUp() {
        writing.set(false);
        for (String db : databases) {
            try {
                Databases.dropDatabase(db);
            } catch (RuntimeException e) {
                log("could not drop " + db + ": " + e.getMessage());
            }
        }
    }

    static void pause(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        String line = s.lines().findFirst().orElse("");
        return line.length() > 200 ? line.substring(0, 200) + "..." : line;
    }
}
