package dev.lifeboat.kit.secrets;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SecretReferenceTest {

    @Test
    void onlyEnvAndAbsoluteFileReferencesAreValid() {
        for (String bad : new String[]{"hunter2", "env:", "env:1ABC", "file:relative/path", "vault:x", ""}) {
            assertThatThrownBy(() -> SecretReference.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(SecretReference.parse("env:PG_PASSWORD")).hasToString("env:PG_PASSWORD");
        assertThat(SecretReference.parse("file:/run/secrets/pw")).hasToString("file:/run/secrets/pw");
    }
}
