package dev.lifeboat.kit.repository;

import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.keys.MasterKey;
import dev.lifeboat.repository.snapshot.Repository;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RepositoriesTest {
    @TempDir
    Path dir;

    private static RepositoryConfig config(Optional<Path> file, String env) {
        return new RepositoryConfig() {
            @Override
            public Optional<Path> masterKeyFile() {
                return file;
            }

            @Override
            public String masterKeyEnv() {
                return env;
            }

            @Override
            public long maxManifestBytes() {
                return dev.lifeboat.repository.snapshot.Repository.MAX_MANIFEST_BYTES;
            }

            @Override
            public int codecWarmUpRounds() {
                return 0;
            }
        };
    }

    @Test
    void missingKeyNamesBothOptions() {
        Repositories repos = new Repositories(new LocalDirectoryObjectStore(dir.resolve("store")),
                config(Optional.empty(), "LIFEBOAT_TEST_KEY_THAT_IS_NOT_SET"));
        assertThatThrownBy(() -> repos.openOrInit("b", "p/src"))
                .isInstanceOf(Repositories.MissingMasterKeyException.class)
                .hasMessageContaining("LIFEBOAT_TEST_KEY_THAT_IS_NOT_SET")
                .hasMessageContaining("LIFEBOAT_MASTER_KEY_FILE");
    }

    @Test
    void keyFileOpensCachedRepositoriesAndIsNeverInTheMessages() throws Exception {
        MasterKey key = MasterKey.generate();
        Path file = Files.writeString(dir.resolve("master.key"), key.toBase64());
        Repositories repos = new Repositories(new LocalDirectoryObjectStore(dir.resolve("store")),
                config(Optional.of(file), "UNUSED"));
        assertThat(repos.open("b", "p/src")).isEmpty();
        Repository created = repos.openOrInit("b", "p/src");
        assertThat(repos.openOrInit("b", "/p/src/")).isSameAs(created);
        assertThat(repos.open("b", "p/src")).containsSame(created);
        assertThat(repos.masterKey()).isEqualTo(key);

        Path bad = Files.writeString(dir.resolve("bad.key"), "not-a-key");
        Repositories broken = new Repositories(new LocalDirectoryObjectStore(dir.resolve("store")),
                config(Optional.of(bad), "UNUSED"));
        assertThatThrownBy(broken::masterKey).isInstanceOf(Repositories.MissingMasterKeyException.class)
                .hasMessageContaining(bad.toString()).hasMessageNotContaining(key.toBase64());
    }
}
