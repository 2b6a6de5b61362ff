package dev.lifeboat.snapshot.service;

import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Starts the worker's child programs (pg_dump, pg_restore) each in a process group of its own ({@code setsid}), so
 * that the program and every process it forks (pg_dump's parallel jobs) can be ended together, and records each
 * group in a file until it has ended: after a kill -9 of the worker, the next start reads those files and kills
 * what is left ({@link #killRecorded()}).
 */
public final class ChildProcesses {
    private static final Logger LOG = Logger.getLogger(ChildProcesses.class);
    static final String DIRECTORY = "children";
    private static final Optional<Path> SETSID = onPath("setsid");

    private final Path records;

    /** {@code records}: the directory that holds one file per running child group. */
    public ChildProcesses(Path records) {
        this.records = records;
    }

    /** A running child: its process and its process group. */
    public final class Child implements AutoCloseable {
        private final Process process;
        private final Path record;

        private Child(Process process, Path record) {
            this.process = process;
            this.record = record;
        }

        public Process process() {
            return process;
        }

        /** Kills the child's whole process group and waits (a few seconds at most) for the leader to end. */
        public void kill() {
            killGroup(process.pid());
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Forgets the group once the child has ended; a child still running is killed first. */
        @Override
        public void close() {
            if (process.isAlive()) {
                kill();
            }
            try {
                Files.deleteIfExists(record);
            } catch (IOException e) {
                LOG.warnf("cannot remove child record %s: %s", record, e.getMessage());
            }
        }
    }

    /** Starts {@code pb}'s command as the leader of a new process group, and records the group. */
    public Child start(ProcessBuilder pb) throws IOException {
        List<String> command = new ArrayList<>(pb.command());
        if (SETSID.isPresent()) {
            // setsid execs the program in place (the JVM's child leads no group), so its pid is the group id
            command.addAll(0, List.of(SETSID.get().toString(), "--wait"));
            pb.command(command);
        }
        Files.createDirectories(records);
        Process p = pb.start();
        Path record = records.resolve(Long.toString(p.pid()));
        Instant started = p.info().startInstant().orElse(Instant.EPOCH);
        Files.writeString(record, started.toEpochMilli() + "\n" + Path.of(command.get(SETSID.isPresent() ? 2 : 0))
                .getFileName() + "\n", StandardCharsets.UTF_8);
        return new Child(p, record);
    }

    /**
     * Kills the groups recorded here by a worker that is gone. A group whose leader still runs is the recorded one
     * when the leader started at the recorded time; a group whose leader has ended may still hold members, and
     * its id cannot have been reused while they live.
     */
    public int killRecorded() {
        if (!Files.isDirectory(records)) {
            return 0;
        }
        int killed = 0;
        List<Path> files;
        try (Stream<Path> s = Files.list(records)) {
            files = s.toList();
        } catch (IOException e) {
            LOG.warnf("cannot read child records in %s: %s", records, e.getMessage());
            return 0;
        }
        for (Path file : files) {
            long pgid;
            long startedMillis;
            try {
                pgid = Long.parseLong(file.getFileName().toString());
                startedMillis = Long.parseLong(Files.readAllLines(file, StandardCharsets.UTF_8).getFirst().strip());
            } catch (IOException | RuntimeException e) {
                LOG.warnf("ignoring unreadable child record %s: %s", file, e.getMessage());
                continue;
            }
            Optional<ProcessHandle> leader = ProcessHandle.of(pgid);
            boolean sameLeader = leader.flatMap(h -> h.info().startInstant())
                    .map(t -> Math.abs(t.toEpochMilli() - startedMillis) < 1000).orElse(false);
            if ((leader.isEmpty() || sameLeader) && !members(pgid).isEmpty()) {
                LOG.warnf("killing process group %d left running by a worker that is gone (%s)", pgid,
                        leader.flatMap(h -> h.info().command()).orElse("leader ended"));
                killGroup(pgid);
                killed++;
            }
        }
        return killed;
    }

    /** SIGKILL to every process of the group (Java has no killpg: the members are found in /proc). */
    static void killGroup(long pgid) {
        for (ProcessHandle member : members(pgid)) {
            member.destroyForcibly();
        }
    }

    /** The live processes whose process group is {@code pgid}. */
    static List<ProcessHandle> members(long pgid) {
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            return all.filter(h -> processGroup(h.pid()) == pgid).toList();
        }
    }

    /** Field 5 of /proc/<pid>/stat; -1 when the process is gone or the system has no /proc. */
    static long processGroup(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8);
            // the command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'
            String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(after[2]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static Optional<Path> onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        LOG.warnf("no %s on PATH: child processes run in the worker's process group and only the direct child is "
                + "ended at a deadline", program);
        return Optional.empty();
    }
}
