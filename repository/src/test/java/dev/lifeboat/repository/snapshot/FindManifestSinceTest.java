package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.LocalDirectoryObjectStore;
import dev.lifeboat.repository.keys.MasterKey;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A FULL's manifest looked for in the chains started since its first attempt only: every backup asks whether its id
 * is new, and a repository holds a chain per FULL.
 */
class FindManifestSinceTest {
    @TempDir
    Path tmp;
    Repository repo;
    /** A dump of one file, the same for every backup of a test. */
    Path dump;

    @BeforeEach
    void repositoryAndDump() throws Exception {
        repo = Repository.init(new LocalDirectoryObjectStore(tmp.resolve("store")), "b", "p", MasterKey.generate());
        dump = tmp.resolve("dump");
        Files.createDirectories(dump);
        Files.writeString(dump.resolve("toc.dat"), "toc", StandardCharsets.UTF_8);
    }

    @Test
    void aFullIsLookedForOnlyInChainsStartedSinceItsFirstAttempt() throws Exception {
        Instant before = Instant.now().minusSeconds(1);
        String chain = repo.writer().write(dump, BackupType.FULL, ChainContext.latestChain("full-1")).manifest()
                .chainId();
        repo.writer().write(dump, BackupType.FULL, ChainContext.latestChain("full-2"));
        Instant after = Instant.now().plusSeconds(1);

        assertThat(repo.chains()).hasSize(2);
        assertThat(repo.findManifest("full-1", before).orElseThrow().chainId()).isEqualTo(chain);
        // its chain started before the instant given: not asked, so not found
        assertThat(repo.findManifest("full-1", after)).isEmpty();
        assertThat(repo.findManifest("full-1").orElseThrow().chainId()).isEqualTo(chain);
        assertThat(repo.findManifest("never-written", before)).isEmpty();

        // the writer's own check that the id is new, with the first attempt known
        assertThatThrownBy(() -> repo.writer().write(dump, BackupType.FULL,
                ChainContext.latestChain("full-1").attemptsSince(before.minus(Duration.ofMinutes(15)))))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("already exists in chain " + chain);
        assertThat(repo.chains()).hasSize(2);
    }

    @Test
    void aChainWhoseIdDoesNotTellWhenItStartedIsAlwaysAsked() throws Exception {
        String chain = repo.writer().write(dump, BackupType.FULL, ChainContext.latestChain("full-1")).manifest()
                .chainId();
        // a chain named otherwise (as another tool or an older writer might have): its marker and a manifest in it
        Layout layout = repo.layout();
        try (var marker = repo.store().open("b", layout.chainMarker(chain));
             var manifest = repo.store().open("b", layout.manifest(chain, "full-1"))) {
            repo.store().put("b", layout.chainMarker("legacy"), marker.readAllBytes());
            repo.store().put("b", layout.manifest("legacy", "old-1"), manifest.readAllBytes());
        }
        assertThat(repo.chains()).contains("legacy", chain);

        Instant later = Instant.now().plus(Duration.ofHours(1));
        assertThat(repo.findManifest("old-1", later)).as("asked whatever the instant").isPresent();
        assertThat(repo.findManifest("full-1", later)).isEmpty();
    }
}
