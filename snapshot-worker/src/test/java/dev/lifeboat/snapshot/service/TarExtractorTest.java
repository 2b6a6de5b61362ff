package dev.lifeboat.snapshot.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lifeboat.snapshot.domain.CommandFailure;

/**
 * The base backup's extractor on tar streams written here: what pg_basebackup writes comes out as the tar says
 * (contents, modes, symbolic links, long names in both GNU and pax form), and a hostile stream writes nothing outside
 * the directory.
 */
class TarExtractorTest {
    @TempDir
    Path tmp;

    /** One entry of a tar being built: a file (content), a directory, a symbolic link or another type. */
    record Entry(String name, byte type, int mode, byte[] content, String link) {
        static Entry file(String name, int mode, byte[] content) {
            return new Entry(name, TarConstants.LF_NORMAL, mode, content, null);
        }

        static Entry dir(String name, int mode) {
            return new Entry(name, TarConstants.LF_DIR, mode, null, null);
        }

        static Entry symlink(String name, String target) {
            return new Entry(name, TarConstants.LF_SYMLINK, 0777, null, target);
        }

        static Entry other(String name, byte type, String link) {
            return new Entry(name, type, 0600, null, link);
        }
    }

    static byte[] tar(int longFileMode, Entry... entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(bytes)) {
            out.setLongFileMode(longFileMode);
            for (Entry e : entries) {
                TarArchiveEntry entry = new TarArchiveEntry(e.name(), e.type(), true);
                entry.setMode(e.mode());
                if (e.link() != null) {
                    entry.setLinkName(e.link());
                }
                if (e.content() != null) {
                    entry.setSize(e.content().length);
                }
                out.putArchiveEntry(entry);
                if (e.content() != null) {
                    out.write(e.content());
                }
                out.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private TarExtractor extractor(Path root, int writers, boolean directIo) {
        return new TarExtractor(root, Optional.empty(), writers, Duration.ofSeconds(30), directIo);
    }

    private TarExtractor extractor(Path root, int writers) {
        return extractor(root, writers, true);
    }

    @Test
    void writesFilesDirectoriesLinksAndModesAsTheTarSaysWithLongNamesInGnuAndPaxForm() throws Exception {
        String longDir = "base/" + "d".repeat(90) + "/";
        byte[] relation = random(5 * TarExtractor.BUFFER_SIZE + 12345, 1);
        byte[] small = random(8192, 2);
        for (int longFileMode : List.of(TarArchiveOutputStream.LONGFILE_GNU, TarArchiveOutputStream.LONGFILE_POSIX)) {
          for (boolean directIo : List.of(true, false)) {
            Path data = Files.createDirectory(tmp.resolve("data-" + longFileMode + "-" + directIo));
            byte[] archive = tar(longFileMode,
                    Entry.file("PG_VERSION", 0600, "16\n".getBytes()),
                    Entry.dir("base/", 0700),
                    Entry.dir("base/1/", 0750),
                    Entry.file("base/1/16384", 0600, relation),
                    Entry.file("base/1/16384_fsm", 0640, small),
                    Entry.file("base/1/empty", 0600, new byte[0]),
                    // an entry before its directory's own, which comes later with its mode
                    Entry.file("global/pg_control", 0600, small),
                    Entry.dir("global/", 0700),
                    Entry.file(longDir + "e".repeat(120), 0600, small),
                    Entry.dir("pg_tblspc/", 0700),
                    Entry.symlink("pg_tblspc/16385", "/srv/tablespaces/outside"));
            try (TarExtractor extractor = extractor(data, 3, directIo)) {
                TarExtractor.Stats stats = extractor.extract(new ByteArrayInputStream(archive), data, "base.tar");
                extractor.finish();
                assertThat(extractor.skippedLinks()).isEqualTo(new TarExtractor.SkippedLinks(1,
                        List.of("base.tar: pg_tblspc/16385 -> /srv/tablespaces/outside")));
                assertThat(stats.files()).isEqualTo(6);
                assertThat(stats.bytes()).isEqualTo(3 + relation.length + 3L * small.length);
                assertThat(extractor.buffersAllocated()).as("memory bounded by the writers' buffers")
                        .isLessThanOrEqualTo(3 * TarExtractor.BUFFERS_PER_WRITER);
            }
            assertThat(data.resolve("base/1/16384")).hasBinaryContent(relation);
            assertThat(data.resolve("base/1/16384_fsm")).hasBinaryContent(small);
            assertThat(data.resolve("base/1/empty")).exists().isEmptyFile();
            assertThat(data.resolve("global/pg_control")).hasBinaryContent(small);
            assertThat(data.resolve(longDir + "e".repeat(120))).hasBinaryContent(small);
            assertThat(mode(data.resolve("base/1/16384"))).isEqualTo("rw-------");
            assertThat(mode(data.resolve("base/1/16384_fsm"))).isEqualTo("rw-r-----");
            assertThat(mode(data.resolve("base/1"))).isEqualTo("rwxr-x---");
            assertThat(mode(data.resolve("global"))).isEqualTo("rwx------");
            assertThat(data.resolve("pg_tblspc/16385")).as("a symbolic link is never made").doesNotExist();
            assertThat(Files.isSymbolicLink(data.resolve("pg_tblspc/16385"))).isFalse();
            assertThat(data.resolve(".direct-io-probe")).doesNotExist();
          }
        }
    }

    @Test
    void aSecondArchiveGoesIntoADirectoryOfTheFirstAndOwnershipGoesToTheOwnerDeepestFirst() throws Exception {
        Path data = Files.createDirectory(tmp.resolve("data"));
        Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwx------"));
        boolean root = "root".equals(System.getProperty("user.name"));
        UserPrincipalLookupService lookup = data.getFileSystem().getUserPrincipalLookupService();
        Optional<TarExtractor.Owner> owner = root ? Optional.of(new TarExtractor.Owner(
                lookup.lookupPrincipalByName("nobody"), lookup.lookupPrincipalByGroupName("nogroup")))
                : Optional.empty();
        byte[] segment = random(3 * TarExtractor.BUFFER_SIZE, 3);
        try (TarExtractor extractor = new TarExtractor(data, owner, 2, Duration.ofSeconds(30), true)) {
            extractor.extract(new ByteArrayInputStream(tar(TarArchiveOutputStream.LONGFILE_POSIX,
                    Entry.dir("pg_wal/", 0700), Entry.dir("pg_wal/archive_status/", 0700),
                    Entry.symlink("pg_tblspc/16385", "/srv/outside"))), data, "base.tar");
            extractor.extract(new ByteArrayInputStream(tar(TarArchiveOutputStream.LONGFILE_POSIX,
                    Entry.file("000000010000000000000003", 0600, segment),
                    Entry.dir("archive_status/", 0700),
                    Entry.file("archive_status/000000010000000000000003.done", 0600, new byte[0]))),
                    data.resolve("pg_wal"), "pg_wal.tar");
            extractor.finish();
            if (root) {
                assertThat(Files.getOwner(data, LinkOption.NOFOLLOW_LINKS).getName())
                        .as("the top stays the worker's until it is handed over").isEqualTo("root");
            }
            extractor.handOverTop();
        }
        assertThat(data.resolve("pg_wal/000000010000000000000003")).hasBinaryContent(segment);
        assertThat(data.resolve("pg_wal/archive_status/000000010000000000000003.done")).exists();
        if (root) {
            try (Stream<Path> all = Files.walk(data)) {
                for (Path p : all.toList()) {
                    assertThat(Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName()).as("%s", p).isEqualTo("nobody");
                }
            }
        }
    }

    @Test
    void refusesEveryEntryThatWouldEscapeOrIsNoFileDirectoryOrLinkAndWritesNothingOutside() throws Exception {
        byte[] x = "x".getBytes();
        record Case(String why, String refusal, String entry, Entry... entries) {
        }
        List<Case> cases = List.of(
                new Case("absolute", "is an absolute path", "/tmp/lifeboat-evil", Entry.file("/tmp/lifeboat-evil", 0600, x)),
                new Case("dot-dot", "climbs out with '..'", "../outside/evil", Entry.file("../outside/evil", 0600, x)),
                new Case("dot-dot inside", "climbs out with '..'", "base/../../outside/evil",
                        Entry.file("base/../../outside/evil", 0600, x)),
                new Case("a link out of the tree", "climbs out with '..'", "../link",
                        Entry.symlink("../link", "/etc")),
                new Case("below a file", "which is not a directory", "f/evil",
                        Entry.file("f", 0600, x), Entry.file("f/evil", 0600, x)),
                new Case("the same file twice", "would replace what an earlier entry made", "f",
                        Entry.file("f", 0600, x), Entry.file("f", 0600, x)),
                new Case("hard link", "is a hard link", "hard", Entry.other("hard", TarConstants.LF_LINK, "/etc/passwd")),
                new Case("character device", "is a device", "dev", Entry.other("dev", TarConstants.LF_CHR, null)),
                new Case("block device", "is a device", "blk", Entry.other("blk", TarConstants.LF_BLK, null)),
                new Case("fifo", "is a FIFO", "fifo", Entry.other("fifo", TarConstants.LF_FIFO, null)));
        int n = 0;
        for (Case c : cases) {
            Path top = Files.createDirectory(tmp.resolve("case-" + n++));
            Path data = Files.createDirectory(top.resolve("data"));
            Path outside = Files.createDirectory(top.resolve("outside"));
            byte[] archive = tar(TarArchiveOutputStream.LONGFILE_POSIX, c.entries());
            try (TarExtractor extractor = extractor(data, 2)) {
                assertThatThrownBy(() -> extractor.extract(new ByteArrayInputStream(archive), data, "base.tar"))
                        .as(c.why()).isInstanceOf(CommandFailure.class)
                        .hasMessageContaining("refusing to extract base.tar: its entry '" + c.entry() + "' ")
                        .hasMessageContaining(c.refusal());
            }
            try (Stream<Path> left = Files.list(outside)) {
                assertThat(left.toList()).as("%s: nothing written outside", c.why()).isEmpty();
            }
            assertThat(top.resolve("evil")).doesNotExist();
        }
        assertThat(Path.of("/tmp/lifeboat-evil")).doesNotExist();
    }

    @Test
    void symbolicLinksAreNeverMadeSoNothingIsWrittenThroughThemNorLaterByName() throws Exception {
        byte[] x = "x".getBytes();
        Path top = Files.createDirectory(tmp.resolve("links"));
        Path data = Files.createDirectory(top.resolve("data"));
        Path outside = Files.createDirectory(top.resolve("outside"));
        Files.writeString(outside.resolve("victim"), "untouched");
        byte[] archive = tar(TarArchiveOutputStream.LONGFILE_POSIX,
                // what a restore later writes by name, and what PostgreSQL reads first
                Entry.symlink("postgresql.auto.conf", outside.resolve("victim").toString()),
                Entry.symlink("link", "../outside"), Entry.file("link/evil", 0600, x),
                Entry.symlink("pg_tblspc/1", "../../outside"), Entry.file("pg_tblspc/1/PG_15/evil", 0600, x),
                Entry.symlink("conf", "../outside/victim"), Entry.file("conf", 0600, x));
        try (TarExtractor extractor = extractor(data, 2)) {
            extractor.extract(new ByteArrayInputStream(archive), data, "base.tar");
            extractor.finish();
            assertThat(extractor.skippedLinks().count()).isEqualTo(4);
            assertThat(extractor.skippedLinks().shown()).contains("base.tar: link -> ../outside",
                    "base.tar: postgresql.auto.conf -> " + outside.resolve("victim"));
        }
        assertThat(data.resolve("postgresql.auto.conf")).doesNotExist();
        assertThat(Files.isDirectory(data.resolve("link"), LinkOption.NOFOLLOW_LINKS)).as("a directory of the tree")
                .isTrue();
        assertThat(data.resolve("link/evil")).hasBinaryContent(x);
        assertThat(data.resolve("pg_tblspc/1/PG_15/evil")).hasBinaryContent(x);
        assertThat(Files.isRegularFile(data.resolve("conf"), LinkOption.NOFOLLOW_LINKS)).isTrue();
        try (Stream<Path> left = Files.list(outside)) {
            assertThat(left.toList()).containsExactly(outside.resolve("victim"));
        }
        assertThat(outside.resolve("victim")).hasContent("untouched");
    }

    @Test
    void aStreamCutShortOrNotATarFailsWithTheReason() throws Exception {
        byte[] whole = tar(TarArchiveOutputStream.LONGFILE_POSIX, Entry.file("base/1/16384", 0600,
                random(2 * TarExtractor.BUFFER_SIZE, 4)));
        byte[] cut = Arrays.copyOf(whole, TarExtractor.BUFFER_SIZE);
        Path data = Files.createDirectory(tmp.resolve("cut"));
        try (TarExtractor extractor = extractor(data, 2)) {
            assertThatThrownBy(() -> extractor.extract(new ByteArrayInputStream(cut), data, "base.tar"))
                    .isInstanceOf(IOException.class).hasMessageContaining("runcated");
        }
        Path other = Files.createDirectory(tmp.resolve("garbage"));
        byte[] garbage = random(4096, 5);
        try (TarExtractor extractor = extractor(other, 2)) {
            assertThatThrownBy(() -> extractor.extract(new ByteArrayInputStream(garbage), other, "base.tar"))
                    .isInstanceOf(IOException.class);
        }
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }
}
