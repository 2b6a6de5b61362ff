package dev.lifeboat.snapshot.recovery;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * {@link RecoveryCommandsTestResource} plus a data root of this stack's own (under /var/tmp, which PostgreSQL's OS
 * user can reach when the tests run as root; root's all the way down, as a root worker requires) where the worker may create restored clusters, on any unprivileged
 * port. The path is derived from the stack's Kafka port, not drawn at random: the test and this resource may load
 * this class in different class loaders and must agree on it. Whatever a previous run left there is removed first.
 */
public class ClusterRestoreTestResource extends RecoveryCommandsTestResource {
    static final Path ROOT = Path.of("/var/tmp", "lifeboat-cluster-restore-"
            + System.getenv().getOrDefault("KAFKA_PORT", "9092"));
    static final Path DATA_ROOT = ROOT.resolve("restores");

    @Override
    public Map<String, String> start() {
        Map<String, String> config = new HashMap<>(super.start());
        try {
            ClusterRestoreTest.stopClustersUnder(DATA_ROOT);
            ClusterRestoreTest.stopClustersUnder(ROOT.resolve("source"));
            ClusterRestoreTest.deleteRecursively(ROOT);
            Files.createDirectories(DATA_ROOT);
            if ("root".equals(System.getProperty("user.name"))) {
                // root's and sticky, as /var/tmp: the source (run as postgres) keeps its files here, and cannot
                // rename the data root, which a root worker refuses unless it is root's all the way down
                new ProcessBuilder("chmod", "1777", ROOT.toString()).start().waitFor();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        config.put("lifeboat.recovery.cluster.data-roots", DATA_ROOT.toString());
        config.put("lifeboat.recovery.cluster.ports", "1024-65535");
        config.put("lifeboat.recovery.cluster.wal-wait", "20s");
        config.put("lifeboat.recovery.cluster.recovery-timeout", "90s");
        config.put("lifeboat.recovery.cluster.stop-timeout", "20s");
        return config;
    }
}
