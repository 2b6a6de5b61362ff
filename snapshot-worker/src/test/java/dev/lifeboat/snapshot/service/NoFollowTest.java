package dev.lifeboat.snapshot.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a root worker does in a directory the cluster's OS user owns: links put there are replaced or removed as
 * links, never followed, so a file elsewhere on the host is never written, read, chmod-ed or removed.
 */
class NoFollowTest {
    @TempDir
    Path tmp;

    @Test
    void aLinkUnderTheNameIsReplacedNotWrittenThroughNorRead() throws Exception {
        Path victim = Files.writeString(tmp.resolve("victim"), "untouched");
        Path dir = Files.createDirectory(tmp.resolve("cluster-owned"));
        Path link = Files.createSymbolicLink(dir.resolve("restore_command.sh"), victim);

        assertThatThrownBy(() -> NoFollow.read(link, 1024)).isInstanceOf(IOException.class);
        java.util.Set<java.nio.file.attribute.PosixFilePermission> before = Files.getPosixFilePermissions(victim);
        NoFollow.writeFresh(link, "#!/bin/sh\n".getBytes(), "rwxr-xr-x");

        assertThat(victim).hasContent("untouched");
        assertThat(Files.getPosixFilePermissions(victim)).isEqualTo(before);
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(link)))
                .isEqualTo("rwxr-xr-x");
        assertThat(Files.isSymbolicLink(link)).isFalse();
        assertThat(link).hasContent("#!/bin/sh\n");
        assertThat(NoFollow.read(link, 4)).as("larger than asked for").isEmpty();
    }

    @Test
    void removingATreeRemovesLinksInItAsLinksAndNothingTheyPointAt() throws Exception {
        Path outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("passwd"), "keep");
        Path tree = Files.createDirectory(tmp.resolve("data"));
        Files.createDirectories(tree.resolve("base/1"));
        Files.writeString(tree.resolve("base/1/16384"), "x");
        Files.createSymbolicLink(tree.resolve("base/d"), outside);
        Files.createSymbolicLink(tree.resolve("pg_wal"), outside.resolve("passwd"));

        NoFollow.deleteTree(tree);

        assertThat(tree).doesNotExist();
        assertThat(outside.resolve("passwd")).hasContent("keep");

        Path linkTop = Files.createSymbolicLink(tmp.resolve("work"), outside);
        NoFollow.deleteTree(linkTop);
        assertThat(Files.exists(linkTop, java.nio.file.LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(outside.resolve("passwd")).hasContent("keep");
    }

    @Test
    void aFifoUnderTheNameIsRefusedAtOnceInsteadOfWaitingForAWriter() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("data"));
        Path fifo = dir.resolve("postmaster.pid");
        mkfifo(fifo);

        long start = System.nanoTime();
        assertThatThrownBy(() -> NoFollow.read(fifo, 1024)).isInstanceOf(IOException.class)
                .hasMessageContaining("not a regular file");
        assertThatThrownBy(() -> NoFollow.tail(fifo, 1024)).isInstanceOf(IOException.class)
                .hasMessageContaining("not a regular file");
        assertThat(ClusterRestorer.tail(fifo, 5)).contains("not a regular file");
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - start)).isLessThan(NoFollow.OPEN_DEADLINE);
    }

    @Test
    void aDirectoryOnTheWaySwappedForALinkIsNotFollowed() throws Exception {
        Path outside = Files.createDirectory(tmp.resolve("root-only"));
        Files.writeString(outside.resolve("pg_control"), "secret of root's");
        Path data = Files.createDirectory(tmp.resolve("data"));
        Files.createSymbolicLink(data.resolve("global"), outside);

        assertThatThrownBy(() -> NoFollow.read(data, Path.of("global", "pg_control"), 1024))
                .isInstanceOf(IOException.class).hasMessageContaining("is not a directory");
        assertThatThrownBy(() -> NoFollow.readAt(data, Path.of("global", "pg_control"), 0, 4))
                .isInstanceOf(IOException.class);
        assertThat(ClusterRestorer.inProduction(data)).isFalse();
        assertThatThrownBy(() -> NoFollow.read(data, Path.of("..", "root-only", "pg_control"), 1024))
                .isInstanceOf(IOException.class);

        Files.delete(data.resolve("global"));
        Files.createDirectory(data.resolve("global"));
        Files.writeString(data.resolve("global").resolve("pg_control"), "0123456789abcdef\u0006\0\0\0");
        assertThat(NoFollow.read(data, Path.of("global", "pg_control"), 1024)).isPresent();
        assertThat(ClusterRestorer.inProduction(data)).as("a real directory is read").isTrue();
    }

    static void mkfifo(Path path) throws Exception {
        Process p = new ProcessBuilder("mkfifo", path.toString()).inheritIO().start();
        assertThat(p.waitFor()).isZero();
    }

    @Test
    void aFileWithAnotherNameIsNotHandedOver() throws Exception {
        Path victim = Files.writeString(tmp.resolve("shadow"), "root's");
        Path dir = Files.createDirectory(tmp.resolve("data"));
        Path plain = Files.writeString(dir.resolve("postgresql.conf"), "port = 5433");

        NoFollow.requireSingleLink(plain);
        NoFollow.requireSingleLink(dir);
        Path link = Files.createLink(dir.resolve("pg_hba.conf"), victim);
        assertThatThrownBy(() -> NoFollow.requireSingleLink(link)).isInstanceOf(IOException.class)
                .hasMessageContaining("has 2 names");
    }

    @Test
    void aHardLinkToAnotherFileIsNotReadNorTailed() throws Exception {
        Path victim = Files.writeString(tmp.resolve("shadow"), "root:secret-hash");
        Path run = Files.createDirectory(tmp.resolve("run"));
        Path log = Files.createLink(run.resolve("postgres.log"), victim);

        assertThatThrownBy(() -> NoFollow.read(log, 1024)).isInstanceOf(IOException.class)
                .hasMessageContaining("has 2 names");
        assertThatThrownBy(() -> NoFollow.tail(log, 1024)).isInstanceOf(IOException.class)
                .hasMessageContaining("has 2 names");
        assertThat(ClusterRestorer.tail(log, 12)).doesNotContain("secret-hash");
        Files.delete(log);
        Files.writeString(log, "LOG:  redo done at 0/3000060");
        assertThat(NoFollow.read(log, 1024)).isPresent();
    }
}
