package dev.lifeboat.scheduler;

import dev.lifeboat.scheduler.domain.OffsiteRules;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class OffsiteRulesTest {
    private static final String BUCKET = "lifeboat-backups";
    private static final String PREFIX = "backups";

    @Test
    void anotherBucketOrADisjointPrefixIsFine() {
        assertThat(OffsiteRules.problem("main", "pg", "dr", "pg", BUCKET, PREFIX)).isEmpty();
        assertThat(OffsiteRules.problem("main", "pg", "main", "pg-dr", BUCKET, PREFIX)).isEmpty();
        assertThat(OffsiteRules.problem(null, null, "dr", null, BUCKET, PREFIX)).isEmpty();
    }

    @Test
    void theSamePlaceIsRefusedWithDefaultsComparedAsTheWorkerWouldUseThem() {
        assertThat(OffsiteRules.problem("main", "/pg/", "main", "pg", BUCKET, PREFIX)).get().asString()
                .contains("must differ from the primary destination").contains("s3://main/pg");
        assertThat(OffsiteRules.problem(null, null, BUCKET, null, BUCKET, PREFIX)).get().asString()
                .contains("must differ").contains("s3://lifeboat-backups/backups");
    }

    @Test
    void nestedPrefixesInOneBucketAreRefused() {
        assertThat(OffsiteRules.problem("main", "pg", "main", "pg/dr", BUCKET, PREFIX)).get().asString()
                .contains("overlaps the primary destination");
        assertThat(OffsiteRules.problem("main", "pg/a", "main", "", BUCKET, PREFIX)).get().asString()
                .contains("overlaps");
    }

    @Test
    void aBucketIsRequired() {
        assertThat(OffsiteRules.problem("main", "pg", null, "dr", BUCKET, PREFIX)).get().asString()
                .contains("offsite.bucket is required");
    }
}
