package dev.lifeboat.repository.keys;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KeysTest {
    @TempDir
    Path dir;

    @Test
    void masterKeyFromEnvironmentAndFile() throws Exception {
        MasterKey k = MasterKey.generate();
        assertThat(MasterKey.fromEnv("LB_KEY", Map.of("LB_KEY", k.toBase64() + "\n"))).isEqualTo(k);
        assertThatThrownBy(() -> MasterKey.fromEnv("LB_KEY", Map.of())).hasMessageContaining("LB_KEY");
        assertThatThrownBy(() -> MasterKey.fromEnv("LB_KEY", Map.of("LB_KEY", "c2hvcnQ=")))
                .hasMessageContaining("32 bytes");

        Path text = Files.writeString(dir.resolve("k.b64"), k.toBase64() + "\n");
        assertThat(MasterKey.fromFile(text)).isEqualTo(k);
        Path raw = Files.write(dir.resolve("k.bin"), k.bytes());
        assertThat(MasterKey.fromFile(raw)).isEqualTo(k);
        assertThat(k.id()).hasSize(8).matches("[0-9a-f]{8}");
        assertThat(k.toString()).doesNotContain(k.toBase64());
    }

    @Test
    void wrapUnwrapAndWrongKey() {
        MasterKey right = MasterKey.generate();
        MasterKey wrong = MasterKey.generate();
        RepositoryKeys keys = RepositoryKeys.generate();
        KeyFile file = KeyFile.wrap(keys, right, Instant.now(), Instant.now());
        assertThat(file.masterKeyId()).isEqualTo(right.id());
        RepositoryKeys back = file.unwrap(right, "b/p");
        assertThat(back.dataKey()).isEqualTo(keys.dataKey());
        assertThat(back.idKey()).isEqualTo(keys.idKey());
        assertThatThrownBy(() -> file.unwrap(wrong, "b/p"))
                .isInstanceOf(WrongKeyException.class)
                .hasMessageContaining("master key " + wrong.id() + " does not open the repository at b/p")
                .hasMessageContaining(right.id());
    }
}
