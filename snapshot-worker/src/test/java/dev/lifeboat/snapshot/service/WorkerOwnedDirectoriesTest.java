package dev.lifeboat.snapshot.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lifeboat.snapshot.domain.CommandFailure;

/**
 * Where a root worker writes, renames and removes by name: only in directories no other user can change. The WAL
 * prefetcher refuses a directory of another user's or one others may write; the data root must be root's all the
 * way down, so the cluster's OS user can never swap a restore's directories for links.
 */
class WorkerOwnedDirectoriesTest {
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    @TempDir
    Path tmp;

    @Test
    void thePrefetcherDeliversOnlyIntoADirectoryOfTheWorkersThatNoOneElseMayWrite() throws Exception {
        Path own = Files.createDirectory(tmp.resolve("wal"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxr-x---")));
        assertThatCode(() -> WalPrefetcher.requireWorkersOwn(own)).doesNotThrowAnyException();

        Files.setPosixFilePermissions(own, PosixFilePermissions.fromString("rwxrwx---"));
        assertThatThrownBy(() -> WalPrefetcher.requireWorkersOwn(own)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("refusing to deliver WAL files into " + own);

        Path link = Files.createSymbolicLink(tmp.resolve("link"), own);
        assertThatThrownBy(() -> WalPrefetcher.requireWorkersOwn(link)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not a directory");

        assumeTrue(ROOT, "only root can give a directory to another user");
        Path theirs = Files.createDirectory(tmp.resolve("theirs"));
        chown(theirs, "postgres");
        assertThatThrownBy(() -> WalPrefetcher.requireWorkersOwn(theirs)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("owned by postgres");
    }

    @Test
    void aRootWorkerRefusesADataRootTheClustersUserCouldRenameThingsIn() throws Exception {
        assumeTrue(ROOT, "the data root is checked only when the worker runs as root");
        // @TempDir is under /tmp: root's and sticky, as /var/tmp
        Path safe = Files.createDirectory(tmp.resolve("restores"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxr-xr-x")));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThatCode(() -> ClusterRestorer.requireRootOnlyPath(safe)).doesNotThrowAnyException();
        assertThatCode(() -> ClusterRestorer.requireRootOnlyPath(safe.resolve("not-made-yet")))
                .doesNotThrowAnyException();

        chown(safe, "postgres");
        assertThatThrownBy(() -> ClusterRestorer.requireRootOnlyPath(safe)).isInstanceOf(CommandFailure.class)
                .hasMessageContaining(safe + " belongs to uid");
        assertThatThrownBy(() -> ClusterRestorer.requireRootOnlyPath(safe.resolve("below")))
                .isInstanceOf(CommandFailure.class);

        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Path under = Files.createDirectory(shared.resolve("restores"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxr-x"));
        assertThatThrownBy(() -> ClusterRestorer.requireRootOnlyPath(under)).isInstanceOf(CommandFailure.class)
                .hasMessageContaining(shared + " is writable by others than root");
        assertThat(new ProcessBuilder("chmod", "1777", shared.toString()).start().waitFor()).isZero();
        assertThatCode(() -> ClusterRestorer.requireRootOnlyPath(under)).as("sticky, as /var/tmp")
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> ClusterRestorer.requireRootOnlyPath(shared)).as("the data root itself")
                .isInstanceOf(CommandFailure.class);

        Path theirs = Files.createDirectory(tmp.resolve("theirs"));
        Path link = Files.createSymbolicLink(tmp.resolve("via-link"), theirs);
        chown(theirs, "postgres");
        assertThatThrownBy(() -> ClusterRestorer.requireRootOnlyPath(link)).as("a link to another user's directory")
                .isInstanceOf(CommandFailure.class);
        assertThat(Files.getOwner(safe.getParent()).getName()).isEqualTo("root");
    }

    private static void chown(Path p, String user) throws Exception {
        UserPrincipalLookupService lookup = p.getFileSystem().getUserPrincipalLookupService();
        Files.setOwner(p, lookup.lookupPrincipalByName(user));
    }
}
