package dev.lifeboat.snapshot.service;

import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The table of contents renumbered for pipes, against the real pg_dump and pg_restore: read and written back byte for
 * byte, the same entries afterwards, and pg_restore's parallel jobs, reading every table's data from a named pipe,
 * take the largest table first with it and last without it; the restored tables equal the source.
 */
class DumpTocOrderTest {
    static final String SOURCE = "dump_toc_order_test";
    static final List<String> TABLES = List.of("alpha.a_small", "alpha.m_medium", "beta.z_large");
    static final Pattern LAUNCH = Pattern.compile("launching item \\d+ TABLE DATA (\\S+ )?(\\w+)");
    /** An entry of {@code pg_restore --list}: its dump id, then what it is. */
    static final Pattern ENTRY = Pattern.compile("^(\\d+); (.*)$");
    static Path work;
    static Path dump;
    static LocalStack stack;

    @BeforeAll
    static void source() throws Exception {
        stack = LocalStack.ensureStarted();
        Databases.createDatabase(SOURCE);
        // created in this order, so that pg_dump's ids put the large table's data last
        Databases.execute(SOURCE, """
                create schema alpha; create schema beta;
                create table alpha.a_small (id int primary key, note text);
                insert into alpha.a_small select g, 'row ' || g from generate_series(1, 2000) g;
                create table alpha.m_medium (id int primary key, amount numeric(12,2), tags text[]);
                insert into alpha.m_medium select g, g / 7.0, array['t' || g % 5] from generate_series(1, 40000) g;
                create index on alpha.m_medium (amount);
                create table beta.z_large (id bigint primary key, payload text, doc jsonb);
                insert into beta.z_large select g, repeat(md5(g::text), 3), jsonb_build_object('k', g % 97)
                  from generate_series(1, 150000) g;
                create index on beta.z_large ((doc->>'k'));""");
        work = Files.createTempDirectory("dump-toc-order-test");
        dump = work.resolve("dump");
        run(List.of(tool("pg_dump"), "-h", "127.0.0.1", "-p", String.valueOf(stack.pgPort()), "-U", "postgres",
                "-Fd", "-Z0", "-f", dump.toString(), SOURCE));
    }

    @AfterAll
    static void drop() {
        Databases.dropDatabase(SOURCE);
        SnapshotService.deleteRecursively(work);
    }

    @Test
    void writtenBackByteForByteWhenNoSizeChangesTheOrder() throws IOException {
        byte[] toc = Files.readAllBytes(dump.resolve("toc.dat"));

        assertThat(DumpTocOrder.largestFirst(toc, Map.of())).hasValueSatisfying(same ->
                assertThat(same).isEqualTo(toc));
    }

    @Test
    void aDataOnlyDumpWhoseTablesHaveNoEntriesIsRenumberedToo() throws Exception {
        // the TABLE DATA entries depend on tables the dump does not hold, as an extension's configuration tables do
        Path dataOnly = work.resolve("data-only");
        run(List.of(tool("pg_dump"), "-h", "127.0.0.1", "-p", String.valueOf(stack.pgPort()), "-U", "postgres",
                "-Fd", "-Z0", "--data-only", "-f", dataOnly.toString(), SOURCE));
        byte[] toc = Files.readAllBytes(dataOnly.resolve("toc.dat"));

        byte[] renumbered = DumpTocOrder.largestFirst(toc, PipedDumps.dataFileSizes(dataOnly)).orElseThrow();

        assertThat(renumbered).isNotEqualTo(toc);
        assertThat(listing(renumbered, dataOnly)).isEqualTo(listing(toc, dataOnly));
    }

    @Test
    void whatIsNotADirectoryTocOfAKnownVersionIsLeftAsItIs() throws IOException {
        byte[] toc = Files.readAllBytes(dump.resolve("toc.dat"));
        byte[] newerVersion = toc.clone();
        newerVersion[6] = 15;
        byte[] customFormat = toc.clone();
        customFormat[10] = 1;

        assertThat(DumpTocOrder.largestFirst("not a table of contents".getBytes(StandardCharsets.UTF_8), sizes()))
                .isEmpty();
        assertThat(DumpTocOrder.largestFirst(Arrays.copyOf(toc, toc.length / 2), sizes())).isEmpty();
        assertThat(DumpTocOrder.largestFirst(Arrays.copyOf(toc, toc.length + 1), sizes())).isEmpty();
        assertThat(DumpTocOrder.largestFirst(newerVersion, sizes())).isEmpty();
        assertThat(DumpTocOrder.largestFirst(customFormat, sizes())).isEmpty();
    }

    @Test
    void fromPipesPgRestoreTakesTheLargestTableFirstOnlyWithTheRenumberedToc() throws Exception {
        byte[] toc = Files.readAllBytes(dump.resolve("toc.dat"));
        byte[] renumbered = DumpTocOrder.largestFirst(toc, sizes()).orElseThrow();

        // the same entries in the same places with the same dependencies, only their ids changed
        assertThat(renumbered).isNotEqualTo(toc);
        assertThat(listing(renumbered)).isEqualTo(listing(toc));
        List<String> asDumped = restoreFromPipes(toc, "dump_toc_order_dumped");
        List<String> largestFirst = restoreFromPipes(renumbered, "dump_toc_order_renumbered");

        assertThat(asDumped).hasSize(3).last().isEqualTo("z_large");
        assertThat(largestFirst).containsExactly("z_large", "m_medium", "a_small");
    }

    /** The data files' sizes, as the manifest gives them. */
    private static Map<String, Long> sizes() throws IOException {
        return PipedDumps.dataFileSizes(dump);
    }

    /**
     * {@code pg_restore --list --verbose} of a dump with this table of contents, in its order: each entry without its
     * dump id, then the entries it depends on, each named the same way (an id not in the dump as it is).
     */
    private static List<String> listing(byte[] toc) throws Exception {
        return listing(toc, dump);
    }

    private static List<String> listing(byte[] toc, Path from) throws Exception {
        Path dir = copyWith(toc, "list-" + System.nanoTime(), false, from);
        String out = run(List.of(tool("pg_restore"), "--list", "--verbose", dir.toString()));
        Map<String, String> named = new HashMap<>();
        List<String[]> entries = new ArrayList<>();
        for (String line : out.lines().toList()) {
            Matcher entry = ENTRY.matcher(line);
            if (entry.matches()) {
                named.put(entry.group(1), entry.group(2));
                entries.add(new String[]{entry.group(2), ""});
            } else if (line.startsWith(";\tdepends on:")) {
                entries.getLast()[1] = line.substring(";\tdepends on:".length()).strip();
            }
        }
        assertThat(entries).isNotEmpty();
        return entries.stream().map(e -> e[0] + " <- " + Arrays.stream(e[1].split(" ")).filter(d -> !d.isEmpty())
                .map(d -> named.getOrDefault(d, "absent " + d)).toList()).toList();
    }

    /**
     * pg_restore --jobs=2 into a new database from a dump whose table data files are named pipes, each fed whole by a
     * thread once a job opens it; the tables in the order its jobs took them. The restored tables must equal the
     * source's.
     */
    private static List<String> restoreFromPipes(byte[] toc, String target) throws Exception {
        Path dir = copyWith(toc, target, true);
        Databases.createDatabase(target);
        List<Thread> feeders = PipedDumps.feed(dump, dir);
        try {
            String log = run(List.of(tool("pg_restore"), "-h", "127.0.0.1", "-p", String.valueOf(stack.pgPort()),
                    "-U", "postgres", "--jobs=2", "--no-owner", "--exit-on-error", "--verbose", "-d", target,
                    dir.toString()));
            PipedDumps.join(feeders);
            for (String table : TABLES) {
                assertThat(contentOf(target, table)).as(table).isEqualTo(contentOf(SOURCE, table));
            }
            List<String> order = new ArrayList<>();
            Matcher m = LAUNCH.matcher(log);
            while (m.find()) {
                order.add(m.group(2));
            }
            return order;
        } finally {
            Databases.dropDatabase(target);
        }
    }

    /** A copy of the dump with {@code toc} as its table of contents; its table data files named pipes if asked. */
    private static Path copyWith(byte[] toc, String name, boolean pipes) throws Exception {
        return copyWith(toc, name, pipes, dump);
    }

    private static Path copyWith(byte[] toc, String name, boolean pipes, Path from) throws Exception {
        Path dir = work.resolve(name);
        PipedDumps.copy(from, toc, dir, pipes);
        return dir;
    }

    /** Row count and an MD5 of every row in key order. */
    private static String contentOf(String database, String table) throws Exception {
        try (Connection c = Databases.connect(database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select count(*) || ':' || md5(coalesce(string_agg(t::text, '|' "
                     + "order by t.id), '')) from " + table + " t")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String tool(String name) {
        return Path.of("/usr/lib/postgresql/15/bin", name).toString();
    }

    /** Runs a command (PGPASSWORD set) and returns its output and error output together; fails on a non-zero exit. */
    private static String run(List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", stack.pgSuperPassword());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).as("finished: " + command).isTrue();
        assertThat(p.exitValue()).as(command + ": " + out).isZero();
        return out;
    }
}
