package dev.lifeboat.snapshot.service;

import dev.lifeboat.kit.pg.SslMode;
import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.ChainContext;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.snapshot.SnapshotWriter;
import dev.lifeboat.snapshot.domain.BackupFailure;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * pg_dump against the real PostgreSQL streaming into a repository: the files pg_dump has finished are written into
 * the repository while it still dumps the others, and a pg_dump that dies halfway through leaves no manifest and
 * fails naming pg_dump's own reason.
 */
class PgDumpStreamTest {
    static final String DATABASE = "pgdump_stream_test";
    static Path work;

    @BeforeAll
    static void source() throws IOException {
        Databases.createDatabase(DATABASE);
        // one job dumps the tables in name order: the small one is finished long before the large one
        Databases.execute(DATABASE, "create table public.a_small (id int primary key, note text); "
                + "insert into public.a_small select g, 'row ' || g from generate_series(1, 1000) g; "
                + "create table public.b_large (id int, payload text); "
                + "insert into public.b_large select g, repeat(md5(g::text), 4) from generate_series(1, 400000) g; "
                // dumped after both: whichever file is handed out first, pg_dump still needs its session then
                + "create table public.c_tail (id int, note text); "
                + "insert into public.c_tail select g, 'tail ' || g from generate_series(1, 200000) g");
        work = Files.createTempDirectory("pgdump-stream-test");
    }

    @AfterAll
    static void drop() {
        Databases.dropDatabase(DATABASE);
        SnapshotService.deleteRecursively(work);
    }

    @Test
    void filesReachTheRepositoryWhilePgDumpRunsAndADumpDyingHalfwayLeavesNoManifest() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        Repository repository = Repository.init(new LocalDirectoryObjectStore(work.resolve("store")), "bucket",
                "repo", MasterKey.generate());
        PgDump dump = new PgDump(PgTools.pgDumpFor(Path.of("/usr/lib/postgresql"), 15), 1, 5, Duration.ofMinutes(1),
                Duration.ofSeconds(30), new ChildProcesses(work.resolve("children")));
        SourceConnection source = new SourceConnection("127.0.0.1", stack.pgPort(), DATABASE, "postgres",
                stack.pgSuperPassword(), SslMode.PREFER, null);
        Path spool = Files.createDirectories(work.resolve("spool-" + UUID.randomUUID()));
        String backupId = "stream-" + UUID.randomUUID();
        List<String> handedWhileRunning = new ArrayList<>();

        try (PgDump.Running running = dump.start(source, spool.resolve("dump"), spool, Duration.ofMillis(200), null,
                backupId, Deadline.after(Instant.now(), Duration.ofMinutes(2), "the test's limit"), bytes -> { })) {
            Iterator<SnapshotWriter.Entry> observed = observing(running.files(), entry -> {
                if (handedWhileRunning.isEmpty()) {
                    handedWhileRunning.add(entry.path());
                    // the first file comes while pg_dump is still dumping (the large table at the latest): end its
                    // session there, as a server restart or an administrator would
                    assertThat(running.outcome).isNotDone();
                    terminate(PgDump.applicationName(backupId));
                }
            });

            BackupFailure failure = catchThrowableOfType(BackupFailure.class, () -> repository.writer()
                    .writeStreamed(observed, BackupType.FULL, ChainContext.latestChain(backupId), () -> null));

            assertThat(handedWhileRunning).hasSize(1).allMatch(path -> path.endsWith(".dat"));
            assertThat(failure).isNotNull();
            assertThat(failure.stage()).isEqualTo("DUMP");
            assertThat(failure.getMessage()).contains("pg_dump of 127.0.0.1:" + stack.pgPort() + "/" + DATABASE)
                    .contains("before the dump was complete").contains("no manifest was written")
                    // pg_dump's own reason: the server's FATAL, or over SSL often only the connection's end, which
                    // reaches pg_dump before the FATAL message can be read
                    .contains("pg_dump said: ")
                    .containsAnyOf("terminating connection", "SSL SYSCALL error: EOF detected",
                            "server closed the connection unexpectedly");
        }
        assertThat(repository.findManifest(backupId)).isEmpty();
        // what was read from the spool was removed as it went
        try (Stream<Path> left = Files.list(spool.resolve("dump"))) {
            assertThat(left.map(p -> p.getFileName().toString())).doesNotContain(handedWhileRunning.getFirst());
        }
    }

    /**
     * Files are read while pg_dump writes them, by as many readers as pg_dump has jobs: the largest table's file is
     * handed out when only part of it is written, and every data file comes out byte for byte as a plain pg_dump of the same
     * (unchanging) database writes it, none cut short at a moment its writer was behind.
     */
    @Test
    void aCompleteStreamedDumpHoldsEveryFileOfTheDumpAndTheTocLast() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        Repository repository = Repository.init(new LocalDirectoryObjectStore(work.resolve("store-complete")),
                "bucket", "repo", MasterKey.generate());
        PgDump dump = new PgDump(PgTools.pgDumpFor(Path.of("/usr/lib/postgresql"), 15), 2, 5, Duration.ofMinutes(1),
                Duration.ofSeconds(30), new ChildProcesses(work.resolve("children")));
        SourceConnection source = new SourceConnection("127.0.0.1", stack.pgPort(), DATABASE, "postgres",
                stack.pgSuperPassword(), SslMode.PREFER, null);
        Path spool = Files.createDirectories(work.resolve("spool-" + UUID.randomUUID()));
        Path reference = work.resolve("reference-" + UUID.randomUUID());
        String backupId = "complete-" + UUID.randomUUID();

        Manifest manifest;
        java.util.Map<String, Long> sizeWhenHanded = new java.util.concurrent.ConcurrentHashMap<>();
        try (PgDump.Running running = dump.start(source, spool.resolve("dump"), spool, Duration.ofMillis(200), null,
                backupId, Deadline.after(Instant.now(), Duration.ofMinutes(2), "the test's limit"), bytes -> { })) {
            Iterator<SnapshotWriter.Entry> observed = observing(running.files(), entry -> {
                try {
                    sizeWhenHanded.put(entry.path(), Files.size(spool.resolve("dump").resolve(entry.path())));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertThat(running.jobs()).isEqualTo(2);
            manifest = repository.writer().readers(running.jobs()).writeStreamed(observed, BackupType.FULL,
                    ChainContext.latestChain(backupId), () -> null).manifest();
        }
        repository.reader().restore(manifest, reference);

        Manifest.FileEntry largest = manifest.files().stream()
                .max(java.util.Comparator.comparingLong(Manifest.FileEntry::size)).orElseThrow();
        assertThat(largest.size()).isGreaterThan(20L << 20);
        assertThat(sizeWhenHanded.get(largest.path())).as("handed out while pg_dump still wrote it")
                .isLessThan(largest.size());
        Path plain = work.resolve("plain-" + UUID.randomUUID());
        ProcessBuilder pgDump = new ProcessBuilder(PgTools.pgDumpFor(Path.of("/usr/lib/postgresql"), 15).toString(),
                "--format=directory", "--compress=0", "--host=127.0.0.1", "--port=" + stack.pgPort(),
                "--username=postgres", "--file=" + plain, DATABASE).redirectErrorStream(true);
        pgDump.environment().put("PGPASSWORD", stack.pgSuperPassword());
        Process plainDump = pgDump.start();
        String out = new String(plainDump.getInputStream().readAllBytes());
        assertThat(plainDump.waitFor()).as(out).isZero();
        for (Manifest.FileEntry file : manifest.files()) {
            if (file.path().endsWith(".dat") && !file.path().equals("toc.dat")) {
                assertThat(Files.mismatch(reference.resolve(file.path()), plain.resolve(file.path())))
                        .as(file.path() + " as pg_dump writes it").isEqualTo(-1L);
            }
        }

        assertThat(manifest.files().getLast().path()).isEqualTo("toc.dat");
        assertThat(manifest.files()).hasSizeGreaterThanOrEqualTo(3);
        try (Stream<Path> restored = Files.list(reference)) {
            assertThat(restored.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrderElementsOf(manifest.files().stream().map(Manifest.FileEntry::path)
                            .toList());
        }
        // the restored directory is a dump pg_restore reads: its table of contents lists both tables' data
        Process list = new ProcessBuilder(PgTools.toolFor(Path.of("/usr/lib/postgresql"), 15, "pg_restore")
                .orElseThrow().toString(), "--list", reference.toString()).redirectErrorStream(true).start();
        String toc = new String(list.getInputStream().readAllBytes());
        assertThat(list.waitFor()).as(toc).isZero();
        assertThat(toc).contains("TABLE DATA public a_small").contains("TABLE DATA public b_large");
        try (Stream<Path> left = Files.list(spool.resolve("dump"))) {
            assertThat(left).as("the spool keeps nothing that was read").isEmpty();
        }
    }

    /**
     * pg_dump's parallel workers each connect and read the catalog before dumping anything: on a small database that
     * costs more than it saves (a 100-row database: 0.4 s more with two jobs than with one), so a database below the
     * threshold is dumped with one job, and a larger one with the jobs configured.
     */
    @Test
    void aSmallDatabaseIsDumpedWithOneJobALargerOneWithTheJobsConfigured() {
        long threshold = 64L * 1024 * 1024;
        assertThat(PgDump.jobsFor(2, 8L * 1024 * 1024, threshold)).isEqualTo(1);
        assertThat(PgDump.jobsFor(2, threshold, threshold)).isEqualTo(2);
        assertThat(PgDump.jobsFor(4, 10L * threshold, threshold)).isEqualTo(4);
        // unknown size (the probe could not read it): the jobs configured
        assertThat(PgDump.jobsFor(2, 0, threshold)).isEqualTo(2);
        // no threshold: always the jobs configured
        assertThat(PgDump.jobsFor(2, 1, 0)).isEqualTo(2);
    }

    /** {@code files}, each entry shown to {@code handed} as the writer takes it. */
    private static Iterator<SnapshotWriter.Entry> observing(Iterator<SnapshotWriter.Entry> files,
                                                            java.util.function.Consumer<SnapshotWriter.Entry> handed) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return files.hasNext();
            }

            @Override
            public SnapshotWriter.Entry next() {
                SnapshotWriter.Entry entry = files.next();
                handed.accept(entry);
                return entry;
            }
        };
    }

    private static void terminate(String applicationName) {
        try (Connection c = Databases.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("select pg_terminate_backend(pid) from pg_stat_activity where application_name = '"
                    + applicationName + "'");
        } catch (Exception e) {
            throw new IllegalStateException("cannot end pg_dump's session: " + e.getMessage(), e);
        }
    }
}
