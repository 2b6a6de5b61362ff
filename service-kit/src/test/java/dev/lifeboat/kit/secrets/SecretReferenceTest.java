package dev.lifeboat.kit.secrets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SecretReferenceTest {

    @Test
    void fileReferenceReadsTheSecretWithoutTrailingNewline(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("pw");
        Files.writeString(f, "s3cr3t\n");
        assertThat(SecretReference.parse("file:" + f).resolve()).isEqualTo("s3cr3t");
    }

    @Test
    void environmentReferenceReadsTheVariable() {
        String name = System.getenv().keySet().stream().filter(k -> k.matches("[A-Za-z_][A-Za-z0-9_]*")).findFirst()
                .orElseThrow();
        assertThat(SecretReference.parse("env:" + name).resolve()).isEqualTo(System.getenv(name));
    }

    @Test
    void missingSecretIsNamedButNeverShown(@TempDir Path dir) {
        assertThatThrownBy(() -> SecretReference.parse("env:LIFEBOAT_SURELY_UNSET_VARIABLE").resolve())
                .hasMessageContaining("env:LIFEBOAT_SURELY_UNSET_VARIABLE").hasMessageContaining("missing");
        assertThatThrownBy(() -> SecretReference.parse("file:" + dir.resolve("absent")).resolve())
                .hasMessageContaining("cannot be read");
    }

    @Test
    void onlyEnvAndAbsoluteFileReferencesAreValid() {
        for (String bad : new String[]{"hunter2", "env:", "env:1ABC", "file:relative/path", "vault:x", ""}) {
            assertThatThrownBy(() -> SecretReference.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(SecretReference.parse("env:PG_PASSWORD")).hasToString("env:PG_PASSWORD");
    }
}
