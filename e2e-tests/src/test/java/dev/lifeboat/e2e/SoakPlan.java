package dev.lifeboat.e2e;

import dev.lifeboat.contracts.BackupType;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * The whole schedule of a soak run, drawn from its seed before anything starts: faults on two lanes (server outages
 * on one; killed instances and held locks on the other, so that they overlap the outages) and the work requested
 * meanwhile. Each lane starts with one fault of each of its kinds in a seeded order, so that even a short run
 * injects every kind; the window is stretched when those do not fit in it.
 */
record SoakPlan(long seed, List<Fault> faults, List<Work> work, Duration window) {

    enum FaultKind { KILL_INSTANCE, STOP_POSTGRES, STOP_OBJECT_STORE, STOP_BROKER, HOLD_SOURCE_LOCK }

    /**
     * @param at     offset from the start of the window
     * @param target the instance to kill or the source to lock; empty for outages
     * @param length outage or lock: how long; a kill: how long the instance stays down before it is restarted
     */
    record Fault(Duration at, FaultKind kind, String target, Duration length) {
        Duration end() {
            return at.plus(length);
        }

        @Override
        public String toString() {
            return String.format("+%4ds %-16s %-20s %3ds", at.toSeconds(), kind, target, length.toSeconds());
        }
    }

    enum WorkKind { BACKUP, DRILL }

    /** An on-demand backup of {@code source} (of {@code type}) or a drill of its plan. */
    record Work(Duration at, WorkKind kind, int source, BackupType type) {
        @Override
        public String toString() {
            return String.format("+%4ds %-6s source %d %s", at.toSeconds(), kind, source, kind == WorkKind.DRILL ? "" : type);
        }
    }

    /** Time before the first fault: the initial full backups are under way. */
    static final Duration FIRST_FAULT = Duration.ofSeconds(20);
    /** A killed instance stays down this long (seconds, min-max) before it is started again. */
    static final SoakSettings.Range DOWNTIME = new SoakSettings.Range(3, 15);

    static SoakPlan draw(SoakSettings s, List<String> instances, int sources) {
        Random outages = new Random(s.seed());
        Random processes = new Random(s.seed() * 31 + 7);
        Random workload = new Random(s.seed() * 131 + 17);
        List<Fault> faults = new ArrayList<>();

        List<FaultKind> servers = new ArrayList<>(List.of(FaultKind.STOP_POSTGRES, FaultKind.STOP_OBJECT_STORE,
                FaultKind.STOP_BROKER));
        Collections.shuffle(servers, outages);
        Duration t = FIRST_FAULT;
        for (int i = 0; i < servers.size() || t.compareTo(s.window()) < 0; i++) {
            FaultKind kind = i < servers.size() ? servers.get(i) : servers.get(outages.nextInt(servers.size()));
            Fault f = new Fault(t, kind, "", s.outage().draw(outages));
            faults.add(f);
            t = f.end().plus(s.gap().draw(outages));
        }
        Duration outageLaneEnd = t;

        List<FaultKind> mandatory = new ArrayList<>(List.of(FaultKind.KILL_INSTANCE, FaultKind.HOLD_SOURCE_LOCK));
        Collections.shuffle(mandatory, processes);
        List<String> sortedInstances = instances.stream().sorted().toList();
        t = FIRST_FAULT.dividedBy(2);
        for (int i = 0; i < mandatory.size() || t.compareTo(s.window()) < 0; i++) {
            FaultKind kind = i < mandatory.size() ? mandatory.get(i)
                    : processes.nextInt(10) < 7 ? FaultKind.KILL_INSTANCE : FaultKind.HOLD_SOURCE_LOCK;
            Fault f = kind == FaultKind.KILL_INSTANCE
                    ? new Fault(t, kind, sortedInstances.get(processes.nextInt(sortedInstances.size())),
                            DOWNTIME.draw(processes))
                    : new Fault(t, kind, "source " + processes.nextInt(sources), s.lock().draw(processes));
            faults.add(f);
            t = f.end().plus(s.gap().draw(processes));
        }
        Duration window = max(s.window(), max(outageLaneEnd, t).minus(s.gap().draw(new Random(s.seed()))));
        faults.sort(Comparator.comparing(Fault::at));

        List<Work> work = new ArrayList<>();
        // every source gets every type on demand early, so that each (source, type) has a backup to restore
        List<Work> coverage = new ArrayList<>();
        for (int src = 0; src < sources; src++) {
            for (BackupType type : BackupType.values()) {
                coverage.add(new Work(Duration.ZERO, WorkKind.BACKUP, src, type));
            }
        }
        Collections.shuffle(coverage, workload);
        t = Duration.ofSeconds(5);
        for (int i = 0; i < coverage.size() || t.compareTo(window) < 0; i++) {
            Work w = i < coverage.size() ? coverage.get(i) : new Work(t, WorkKind.BACKUP, workload.nextInt(sources),
                    BackupType.values()[workload.nextInt(BackupType.values().length)]);
            work.add(new Work(t, w.kind(), w.source(), w.type()));
            t = t.plus(s.backupEvery().draw(workload));
        }
        window = max(window, t);
        t = Duration.ofSeconds(30);
        do {
            work.add(new Work(t, WorkKind.DRILL, workload.nextInt(sources), null));
            t = t.plus(s.drillEvery().draw(workload));
        } while (t.compareTo(window) < 0);
        work.sort(Comparator.comparing(Work::at));
        return new SoakPlan(s.seed(), List.copyOf(faults), List.copyOf(work), window);
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    String describe() {
        StringBuilder b = new StringBuilder("soak plan, seed " + seed + ", window " + window.toSeconds() + " s\n  faults:\n");
        faults.forEach(f -> b.append("    ").append(f).append('\n'));
        b.append("  work:\n");
        work.forEach(w -> b.append("    ").append(w).append('\n'));
        return b.toString();
    }
}
