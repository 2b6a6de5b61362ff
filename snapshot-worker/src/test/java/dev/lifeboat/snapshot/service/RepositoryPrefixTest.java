package dev.lifeboat.snapshot.service;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RepositoryPrefixTest {
    @Test
    void oneRepositoryPerSourceUnderThePolicyPrefix() {
        assertThat(SnapshotService.repositoryPrefix("backups", "pg-main")).isEqualTo("backups/pg-main");
        assertThat(SnapshotService.repositoryPrefix("/team/a/", "pg-main")).isEqualTo("team/a/pg-main");
        assertThat(SnapshotService.repositoryPrefix("", "pg-main")).isEqualTo("pg-main");
    }
}
