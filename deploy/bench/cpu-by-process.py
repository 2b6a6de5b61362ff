#!/usr/bin/env python3
"""Where a benchmark's CPU went, by process, read from /proc once a second (Linux only, no dependencies).

  deploy/bench/cpu-by-process.py record FILE [threads]
                                                  samples until stopped (kill it by pid): one line a second, the
                                                  CPU ticks each process group used in that second; with threads,
                                                  also each JVM's threads by kind (see below)
  deploy/bench/cpu-by-process.py report FILE MARKER...
                                                  for each stretch of seconds in which a process named MARKER ran
                                                  (pg_dump, pg_restore, pg_basebackup, pgbackrest...), the
                                                  CPU-seconds of every group in it, largest first

Groups: Lifeboat's services by module name, S3Proxy, Kafka, Zipkin, the test JVMs; PostgreSQL's processes by their
kind (pg:postgres is a client backend, pg:walsender...); any other process by its command name. A process is counted
from the second it is first seen; one that lives less than a second between two samples is missed.

Recorded with threads, each stretch's second line splits the JVMs' share by what their threads do: the JIT
compilers, the garbage collector, the Kafka consumers' polling threads (SmallRye's), and the rest. A thread is read
from its own counters, so what a thread used in the second it ended in is missed there (the process's line has it).
Reading every JVM thread's counters costs the sampler itself 5-8 % of a core on a platform (2 cores), against about
1 % without: it shows in the report as python3, and it is CPU the measured work does not get.
"""
import os
import sys
import time

JAVA_GROUPS = ["scheduler-service", "snapshot-worker", "storage-worker", "recovery-coordinator", "catalog-service",
               "s3proxy", "zipkin", "kafka.Kafka", "surefire", "failsafe", "plexus-classworlds"]


def group(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    if comm == "java":
        return "java:" + next((g for g in JAVA_GROUPS if g in cmd), "other")
    if comm.startswith("postgres"):
        return "pg:" + (cmd.split(":", 1)[1].split()[0] if ":" in cmd else "postmaster")
    return comm


def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        return stat_ticks(f.read())


def stat_ticks(stat):
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


# a JVM thread's kind by its name (Linux keeps the first 15 characters)
THREAD_KINDS = [("jit", ("C1 CompilerThre", "C2 CompilerThre")),
                ("gc", ("GC Thread", "G1 ", "ZWorker", "ZDirector", "ZDriver", "VM Thread")),
                ("kafka-poll", ("smallrye-kafka-",))]


def thread_kind(name):
    return next((kind for kind, prefixes in THREAD_KINDS if name.startswith(prefixes)), "rest")


def since(seen, key, t, first):
    """Ticks used since the last sample; one already running at the first sample counts from then, a later one from
    its start."""
    delta = t - seen[key] if key in seen else (0 if first else t)
    seen[key] = t
    return delta


def java_threads(pid, group_name, seen, first, used):
    """Adds each of the JVM's threads' CPU since the last sample to used["~<kind>:<service>"]."""
    service = group_name.split(":", 1)[1]
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        t = stat_ticks(stat)
        delta = since(seen, (pid, tid), t, first)
        if delta:
            k = f"~{thread_kind(stat[stat.index('(') + 1:stat.rindex(')')])}:{service}"
            used[k] = used.get(k, 0) + delta


def record(path, threads):
    seen = {}
    seen_threads = {}
    first = True
    with open(path, "w") as out:
        while True:
            now = time.time()
            used = {}
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    t = ticks(pid)
                except OSError:
                    continue
                name = group(pid)
                if name is None:
                    continue
                delta = since(seen, pid, t, first)
                if delta:
                    used[name] = used.get(name, 0) + delta
                if threads and name.startswith("java:"):
                    java_threads(pid, name, seen_threads, first, used)
            out.write("%.1f %s\n" % (now, " ".join(f"{k}={v}" for k, v in sorted(used.items()))))
            out.flush()
            first = False
            time.sleep(1)


def report(path, markers):
    hz = os.sysconf("SC_CLK_TCK")
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            rows.append((float(parts[0]), {k: int(v) for k, v in (p.rsplit("=", 1) for p in parts[1:])}))
    for marker in markers:
        stretches, current = [], []
        for i, (_, used) in enumerate(rows):
            if marker in used:
                if current and i - current[-1] > 3:
                    stretches.append(current)
                    current = []
                current.append(i)
        if current:
            stretches.append(current)
        for s in stretches:
            first, last = max(s[0] - 1, 0), s[-1]
            total = {}
            for _, used in rows[first + 1:last + 1]:
                for k, v in used.items():
                    total[k] = total.get(k, 0) + v
            wall = rows[last][0] - rows[first][0]
            threads = {k[1:]: v for k, v in total.items() if k.startswith("~")}
            top = sorted(((k, v) for k, v in total.items() if not k.startswith("~")), key=lambda kv: -kv[1])
            print(f"{marker}: {wall:.0f} s, {sum(v for _, v in top) / hz:.1f} CPU-s: "
                  + " ".join(f"{k}={v / hz:.2f}" for k, v in top[:12]))
            if threads:
                parts = []
                for kind, _ in THREAD_KINDS + [("rest", ())]:
                    of_kind = sorted(((k.split(":", 1)[1], v) for k, v in threads.items()
                                      if k.split(":", 1)[0] == kind), key=lambda kv: -kv[1])
                    if of_kind:
                        parts.append(f"{kind} {sum(v for _, v in of_kind) / hz:.2f} ("
                                     + " ".join(f"{k}={v / hz:.2f}" for k, v in of_kind[:4]) + ")")
                print("  the JVMs' threads: " + "; ".join(parts))


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "record" and sys.argv[3:] in ([], ["threads"]):
        record(sys.argv[2], sys.argv[3:] == ["threads"])
    elif len(sys.argv) >= 4 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)
