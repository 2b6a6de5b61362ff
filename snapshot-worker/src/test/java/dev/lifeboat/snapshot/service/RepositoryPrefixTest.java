package dev.lifeboat.snapshot.service;

import dev.lifeboat.contracts.OffsiteDestination;
import dev.lifeboat.snapshot.client.SchedulerClient;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RepositoryPrefixTest {
    @Test
    void oneRepositoryPerSourceUnderThePolicyPrefix() {
        assertThat(SnapshotService.repositoryPrefix("backups", "pg-main")).isEqualTo("backups/pg-main");
        assertThat(SnapshotService.repositoryPrefix("/team/a/", "pg-main")).isEqualTo("team/a/pg-main");
        assertThat(SnapshotService.repositoryPrefix("", "pg-main")).isEqualTo("pg-main");
    }

    @Test
    void theOffsiteRepositoryIsLaidOutLikeThePrimaryOne() {
        var primary = new SchedulerClient.PolicyInfo.Destination("main", "backups");
        assertThat(SnapshotService.offsiteOf(new SchedulerClient.PolicyInfo("p", "pg-main", primary,
                new SchedulerClient.PolicyInfo.Destination("dr-bucket", "/dr/"), null), "pg-main", "backups"))
                .isEqualTo(new OffsiteDestination("dr-bucket", "dr/pg-main"));
        assertThat(SnapshotService.offsiteOf(new SchedulerClient.PolicyInfo("p", "pg-main", primary,
                new SchedulerClient.PolicyInfo.Destination("dr-bucket", null), null), "pg-main", "backups"))
                .isEqualTo(new OffsiteDestination("dr-bucket", "backups/pg-main"));
        assertThat(SnapshotService.offsiteOf(new SchedulerClient.PolicyInfo("p", "pg-main", primary, null, null),
                "pg-main", "backups")).isNull();
    }
}
