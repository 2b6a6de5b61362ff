package dev.lifeboat.snapshot.service;

import dev.lifeboat.snapshot.domain.BackupFailure;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PgToolsTest {

    private static void install(Path root, int major) throws Exception {
        Path bin = Files.createDirectories(root.resolve(major + "/bin"));
        Files.createFile(bin.resolve("pg_dump"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    }

    @Test
    void sameMajorVersionIsPreferred(@TempDir Path root) throws Exception {
        install(root, 14);
        install(root, 15);
        install(root, 17);
        assertThat(PgTools.pgDumpFor(root, 15)).isEqualTo(root.resolve("15/bin/pg_dump"));
    }

    @Test
    void oldestNewerVersionServesAnOlderServer(@TempDir Path root) throws Exception {
        install(root, 17);
        install(root, 16);
        assertThat(PgTools.pgDumpFor(root, 13)).isEqualTo(root.resolve("16/bin/pg_dump"));
    }

    @Test
    void anOlderPgDumpIsNeverUsedForANewerServer(@TempDir Path root) throws Exception {
        install(root, 15);
        assertThatThrownBy(() -> PgTools.pgDumpFor(root, 17)).isInstanceOf(BackupFailure.class)
                .hasMessageContaining("no pg_dump for PostgreSQL 17").hasMessageContaining("postgresql-client-17");
    }

    @Test
    void installedClientOfThisMachineReportsItsVersion() throws Exception {
        Path real = Path.of("/usr/lib/postgresql");
        int major;
        try (var dirs = Files.list(real)) {
            major = dirs.map(d -> d.getFileName().toString()).filter(n -> n.matches("\\d+"))
                    .mapToInt(Integer::parseInt).max().orElseThrow();
        }
        assertThat(PgTools.version(PgTools.pgDumpFor(real, major))).contains("pg_dump (PostgreSQL) " + major);
    }
}
