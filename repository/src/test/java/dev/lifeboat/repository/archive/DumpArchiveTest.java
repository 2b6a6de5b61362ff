package dev.lifeboat.repository.archive;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DumpArchiveTest {

    @Test
    void directoryRoundTripsByteForByte(@TempDir Path tmp) throws IOException {
        Path src = tmp.resolve("dump");
        Files.createDirectories(src.resolve("sub"));
        byte[] random = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(random);
        Files.write(src.resolve("3001.dat"), random);
        Files.writeString(src.resolve("toc.dat"), "table of contents\n".repeat(1000));
        Files.write(src.resolve("sub/empty.dat"), new byte[0]);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<Long> progress = new ArrayList<>();
        long raw = DumpArchive.write(src, out, 3, progress::add);
        assertThat(raw).isGreaterThan(random.length);
        assertThat(progress).isSorted().last().isEqualTo(raw);

        Path back = tmp.resolve("back");
        DumpArchive.extract(new ByteArrayInputStream(out.toByteArray()), back);
        assertThat(Files.readAllBytes(back.resolve("3001.dat"))).isEqualTo(random);
        assertThat(Files.readString(back.resolve("toc.dat"))).isEqualTo(Files.readString(src.resolve("toc.dat")));
        assertThat(back.resolve("sub/empty.dat")).exists().isEmptyFile();
    }

    @Test
    void sameDirectoryGivesTheSameArchive(@TempDir Path tmp) throws IOException {
        Path src = tmp.resolve("d");
        Files.createDirectories(src);
        for (int i = 0; i < 20; i++) {
            Files.writeString(src.resolve(i + ".dat"), "row " + i + "\n".repeat(i * 100));
        }
        Files.setLastModifiedTime(src, Files.getLastModifiedTime(src));
        ByteArrayOutputStream a = new ByteArrayOutputStream();
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DumpArchive.write(src, a, 3, x -> { });
        DumpArchive.write(src, b, 3, x -> { });
        assertThat(a.toByteArray()).isEqualTo(b.toByteArray());
    }

    @Test
    void textCompresses(@TempDir Path tmp) throws IOException {
        Path src = tmp.resolve("d");
        Files.createDirectories(src);
        Files.writeString(src.resolve("t.dat"), "1\tAlice\talice@example.com\t2026-01-01\n".repeat(50_000));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long raw = DumpArchive.write(src, out, 3, x -> { });
        assertThat(out.size()).isLessThan((int) (raw / 20));
    }

    @Test
    void corruptArchiveIsRefused(@TempDir Path tmp) {
        byte[] garbage = "definitely not zstd".getBytes();
        assertThatThrownBy(() -> DumpArchive.extract(new ByteArrayInputStream(garbage), tmp.resolve("x")))
                .isInstanceOf(IOException.class);
    }

    @Test
    void layoutPutsTheManifestBesideTheArchive() {
        String key = ArchiveLayout.archiveKey("/nightly/", "pg-main", "b1");
        assertThat(key).isEqualTo("nightly/pg-main/b1/dump.tar.zst");
        assertThat(ArchiveLayout.manifestKeyFor(key)).isEqualTo("nightly/pg-main/b1/manifest.json");
        assertThat(ArchiveLayout.archiveKey("", "s", "b")).isEqualTo("s/b/dump.tar.zst");
    }
}
