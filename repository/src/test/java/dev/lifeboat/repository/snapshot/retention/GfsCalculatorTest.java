package dev.lifeboat.repository.snapshot.retention;

import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.retention.Chains.SourceBackup;
import org.junit.jupiter.api.Test;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class GfsCalculatorTest {
    private static final RetentionCounts SEVEN_FOUR_TWELVE = new RetentionCounts(7, 4, 12);

    /** One FULL backup a day at 02:00 UTC for {@code days} days ending on {@code last}; the id is the date. */
    private static List<RetainedBackup> dailyFulls(LocalDate last, int days) {
        List<RetainedBackup> backups = new ArrayList<>();
        for (int i = 0; i < days; i++) {
            LocalDate d = last.minusDays(i);
            backups.add(new RetainedBackup(d.toString(), d.atTime(2, 0).toInstant(ZoneOffset.UTC), BackupType.FULL,
                    d.toString(), null));
        }
        Collections.shuffle(backups, new java.util.Random(42));
        return backups;
    }

    @Test
    void fourHundredDailyFullsKeepSevenDaysFourWeeksTwelveMonths() {
        // 2026-11-24 is a Tuesday. Worked out by hand from a calendar:
        // days: 18..24 Nov; ISO weeks (Mon-Sun): this week -> Tue 24, then Sundays 22, 15, 8 Nov;
        // months: Nov -> 24th, then the last day of Oct 2026 back to Dec 2025.
        List<RetainedBackup> backups = dailyFulls(LocalDate.parse("2026-11-24"), 400);
        Set<String> expected = Set.of(
                "2026-11-24", "2026-11-23", "2026-11-22", "2026-11-21", "2026-11-20", "2026-11-19", "2026-11-18",
                "2026-11-15", "2026-11-08",
                "2026-10-31", "2026-09-30", "2026-08-31", "2026-07-31", "2026-06-30", "2026-05-31", "2026-04-30",
                "2026-03-31", "2026-02-28", "2026-01-31", "2025-12-31");

        RetentionDecision decision = GfsCalculator.decide(backups, SEVEN_FOUR_TWELVE);

        assertThat(decision.keep().keySet()).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(decision.expire()).hasSize(400 - expected.size()).doesNotContainAnyElementsOf(expected);
        assertThat(decision.keep().get("2026-11-24")).containsExactlyInAnyOrder(KeepReason.NEWEST, KeepReason.DAILY,
                KeepReason.WEEKLY, KeepReason.MONTHLY);
        assertThat(decision.keep().get("2026-11-22")).containsExactlyInAnyOrder(KeepReason.DAILY, KeepReason.WEEKLY);
        assertThat(decision.keep().get("2026-11-15")).containsExactly(KeepReason.WEEKLY);
        assertThat(decision.keep().get("2026-02-28")).containsExactly(KeepReason.MONTHLY);
    }

    @Test
    void gfsAcrossAYearBoundaryMatchesCalendarArithmetic() {
        // 2027-01-02 is a Saturday in ISO week 2026-W53, which began on Monday 2026-12-28.
        for (LocalDate last : List.of(LocalDate.parse("2027-01-02"), LocalDate.parse("2027-01-04"),
                LocalDate.parse("2028-03-01"), LocalDate.parse("2026-11-29"))) {
            Set<String> expected = new TreeSet<>();
            for (int k = 0; k < 7; k++) {
                expected.add(last.minusDays(k).toString());
            }
            LocalDate sundayOfThisWeek = last.plusDays(DayOfWeek.SUNDAY.getValue() - last.getDayOfWeek().getValue());
            for (int k = 0; k < 4; k++) {
                LocalDate sunday = sundayOfThisWeek.minusWeeks(k);
                expected.add((sunday.isAfter(last) ? last : sunday).toString());
            }
            for (int k = 0; k < 12; k++) {
                LocalDate endOfMonth = last.withDayOfMonth(1).minusMonths(k).plusMonths(1).minusDays(1);
                expected.add((endOfMonth.isAfter(last) ? last : endOfMonth).toString());
            }

            RetentionDecision decision = GfsCalculator.decide(dailyFulls(last, 400), SEVEN_FOUR_TWELVE);

            assertThat(new TreeSet<>(decision.keep().keySet())).as("kept when the last backup is on %s", last)
                    .isEqualTo(expected);
        }
    }

    @Test
    void aKeptIncrementalKeepsItsChainBackToTheFull() {
        // Weekly FULL on Sundays, INCREMENTAL the other days, for 5 weeks ending Saturday 2026-11-28.
        List<SourceBackup> history = new ArrayList<>();
        LocalDate first = LocalDate.parse("2026-10-25");
        for (LocalDate d = first; !d.isAfter(LocalDate.parse("2026-11-28")); d = d.plusDays(1)) {
            BackupType type = d.getDayOfWeek() == DayOfWeek.SUNDAY ? BackupType.FULL : BackupType.INCREMENTAL;
            history.add(new SourceBackup(d.toString(), d.atTime(2, 0).toInstant(ZoneOffset.UTC), type));
        }
        List<RetainedBackup> linked = Chains.link(history);

        RetentionDecision decision = GfsCalculator.decide(linked, new RetentionCounts(1, 0, 0));

        // Keeping Saturday's incremental keeps every backup since Sunday's FULL, and nothing older.
        Set<String> chain = new HashSet<>();
        for (LocalDate d = LocalDate.parse("2026-11-22"); !d.isAfter(LocalDate.parse("2026-11-28")); d = d.plusDays(1)) {
            chain.add(d.toString());
        }
        assertThat(decision.keep().keySet()).containsExactlyInAnyOrderElementsOf(chain);
        assertThat(decision.keep().get("2026-11-22")).containsExactly(KeepReason.DEPENDENCY);
        assertThat(decision.keep().get("2026-11-28")).containsExactlyInAnyOrder(KeepReason.NEWEST, KeepReason.DAILY);
        assertThat(decision.expire()).hasSize(history.size() - 7);
    }

    @Test
    void aKeptDifferentialKeepsOnlyItsFull() {
        Instant t = Instant.parse("2026-11-01T02:00:00Z");
        List<RetainedBackup> linked = Chains.link(List.of(
                new SourceBackup("full", t, BackupType.FULL),
                new SourceBackup("incr", t.plusSeconds(86_400), BackupType.INCREMENTAL),
                new SourceBackup("diff", t.plusSeconds(2 * 86_400), BackupType.DIFFERENTIAL)));
        assertThat(linked).extracting(RetainedBackup::dependsOn).containsExactly(null, "full", "full");
        assertThat(linked).extracting(RetainedBackup::chainId).containsOnly("full");

        RetentionDecision decision = GfsCalculator.decide(linked, new RetentionCounts(1, 0, 0));

        assertThat(decision.keep()).containsOnlyKeys("diff", "full");
        assertThat(decision.expire()).containsExactly("incr");
    }

    @Test
    void theChainTheRepositoryRecordedBeatsCompletionOrder() {
        Instant t = Instant.parse("2026-11-01T02:00:00Z");
        // "late" was taken in chain c1 against "incr" but completed after the FULL of chain c2: completion order
        // alone would hang it on "full2"; the chain information of its BackupCompleted says otherwise
        List<RetainedBackup> linked = Chains.link(List.of(
                new SourceBackup("full1", t, BackupType.FULL, "c1", null),
                new SourceBackup("incr", t.plusSeconds(3600), BackupType.INCREMENTAL, "c1", "full1"),
                new SourceBackup("full2", t.plusSeconds(7200), BackupType.FULL, "c2", null),
                new SourceBackup("late", t.plusSeconds(86_400), BackupType.INCREMENTAL, "c1", "incr"),
                // no chain information (recorded before the scheduler kept it): inferred from order, as before
                new SourceBackup("old-style", t.plusSeconds(2 * 86_400), BackupType.DIFFERENTIAL)));
        assertThat(linked).extracting(RetainedBackup::dependsOn)
                .containsExactly(null, "full1", null, "incr", "full2");
        assertThat(linked).extracting(RetainedBackup::chainId).containsExactly("c1", "c1", "c2", "c1", "c2");

        RetentionDecision decision = GfsCalculator.decide(Chains.link(List.of(
                new SourceBackup("full1", t, BackupType.FULL, "c1", null),
                new SourceBackup("incr", t.plusSeconds(3600), BackupType.INCREMENTAL, "c1", "full1"),
                new SourceBackup("full2", t.plusSeconds(7200), BackupType.FULL, "c2", null),
                new SourceBackup("late", t.plusSeconds(86_400), BackupType.INCREMENTAL, "c1", "incr"))),
                new RetentionCounts(1, 0, 0));
        assertThat(decision.keep()).containsOnlyKeys("late", "incr", "full1");
        assertThat(decision.expire()).containsExactly("full2");
    }

    @Test
    void anIncrementalWithoutAFullStartsTheChain() {
        Instant t = Instant.parse("2026-11-01T02:00:00Z");
        List<RetainedBackup> linked = Chains.link(List.of(
                new SourceBackup("b", t.plusSeconds(60), BackupType.INCREMENTAL),
                new SourceBackup("a", t, BackupType.INCREMENTAL)));
        assertThat(linked).extracting(RetainedBackup::backupId).containsExactly("a", "b");
        assertThat(linked).extracting(RetainedBackup::dependsOn).containsExactly(null, "a");
    }

    @Test
    void dependenciesThroughOtherPoliciesBackupsStillKeepThePolicysFull() {
        Instant t = Instant.parse("2026-11-01T02:00:00Z");
        List<RetainedBackup> linked = Chains.link(List.of(
                new SourceBackup("p-full", t, BackupType.FULL),
                new SourceBackup("adhoc-incr", t.plusSeconds(3600), BackupType.INCREMENTAL),
                new SourceBackup("p-incr", t.plusSeconds(86_400), BackupType.INCREMENTAL)));
        List<RetainedBackup> policy = Chains.within(linked, Set.of("p-full", "p-incr"));
        assertThat(policy).extracting(RetainedBackup::dependsOn).containsExactly(null, "p-full");

        RetentionDecision decision = GfsCalculator.decide(policy, new RetentionCounts(1, 0, 0));
        assertThat(decision.keep()).containsOnlyKeys("p-incr", "p-full");
    }

    @Test
    void newestIsKeptEvenWithZeroCounts() {
        List<RetainedBackup> backups = dailyFulls(LocalDate.parse("2026-11-24"), 30);

        RetentionDecision decision = GfsCalculator.decide(backups, new RetentionCounts(0, 0, 0));

        assertThat(decision.keep()).containsOnlyKeys("2026-11-24");
        assertThat(decision.keep().get("2026-11-24")).containsExactly(KeepReason.NEWEST);
        assertThat(decision.expire()).hasSize(29);
    }

    @Test
    void newestIsDecidedByTimeNotByInputOrderAndSeveralBackupsADayKeepTheLastOne() {
        Instant day = Instant.parse("2026-11-24T00:00:00Z");
        List<RetainedBackup> backups = new ArrayList<>();
        for (int h = 0; h < 24; h += 6) {
            backups.add(new RetainedBackup("h" + h, day.plusSeconds(h * 3600L), BackupType.FULL, "h" + h, null));
        }
        backups.add(new RetainedBackup("yesterday", day.minusSeconds(1), BackupType.FULL, "yesterday", null));

        RetentionDecision decision = GfsCalculator.decide(backups, new RetentionCounts(2, 0, 0));

        assertThat(decision.keep()).containsOnlyKeys("h18", "yesterday");
        assertThat(decision.expire()).containsExactly("h12", "h6", "h0");
    }

    @Test
    void zeroCountsForOneTierLeaveTheOthersWorking() {
        List<RetainedBackup> backups = dailyFulls(LocalDate.parse("2026-11-24"), 100);

        RetentionDecision weeklyOnly = GfsCalculator.decide(backups, new RetentionCounts(0, 3, 0));

        assertThat(weeklyOnly.keep()).containsOnlyKeys("2026-11-24", "2026-11-22", "2026-11-15");
        assertThat(weeklyOnly.keep().values().stream().flatMap(Set::stream).collect(Collectors.toSet()))
                .doesNotContain(KeepReason.DAILY, KeepReason.MONTHLY);
    }

    @Test
    void noBackupsGiveAnEmptyDecision() {
        RetentionDecision decision = GfsCalculator.decide(List.of(), SEVEN_FOUR_TWELVE);
        assertThat(decision.keep()).isEmpty();
        assertThat(decision.expire()).isEmpty();
    }

    @Test
    void aCorruptBackupTakesNoSlotAndTheNewestVerifiedOneIsNeverExpired() {
        Instant day = Instant.parse("2026-11-24T02:00:00Z");
        RetainedBackup verified = new RetainedBackup("a-verified", day, BackupType.FULL, "c1", null,
                Integrity.VERIFIED);
        RetainedBackup unverified = new RetainedBackup("b-unverified", day.plusSeconds(60), BackupType.FULL, "c2",
                null, Integrity.UNVERIFIED);
        RetainedBackup corrupt = new RetainedBackup("c-corrupt", day.plusSeconds(120), BackupType.FULL, "c3", null,
                Integrity.CORRUPT);

        // one daily slot: before verdicts counted, the corrupt newest took it and the two good ones expired
        RetentionDecision decision = GfsCalculator.decide(List.of(verified, unverified, corrupt),
                new RetentionCounts(1, 0, 0));

        assertThat(decision.keep()).containsOnlyKeys("b-unverified", "a-verified");
        assertThat(decision.keep().get("b-unverified")).containsExactlyInAnyOrder(KeepReason.NEWEST,
                KeepReason.DAILY);
        assertThat(decision.keep().get("a-verified")).containsExactly(KeepReason.NEWEST_VERIFIED);
        assertThat(decision.expire()).containsExactly("c-corrupt");
    }

    @Test
    void aCorruptBackupThatAKeptOneDependsOnIsKeptOnlyAsADependency() {
        Instant day = Instant.parse("2026-11-24T02:00:00Z");
        RetainedBackup full = new RetainedBackup("full", day, BackupType.FULL, "c1", null, Integrity.CORRUPT);
        RetainedBackup incremental = new RetainedBackup("incr", day.plusSeconds(60), BackupType.INCREMENTAL, "c1",
                "full", Integrity.UNVERIFIED);

        RetentionDecision decision = GfsCalculator.decide(List.of(full, incremental), new RetentionCounts(0, 0, 0));

        assertThat(decision.keep().get("incr")).containsExactly(KeepReason.NEWEST);
        assertThat(decision.keep().get("full")).containsExactly(KeepReason.DEPENDENCY);
    }

    @Test
    void chainsCarryEachBackupsIntegrityThroughLinkingAndScoping() {
        Instant t = Instant.parse("2026-11-24T02:00:00Z");
        List<RetainedBackup> linked = Chains.link(List.of(
                new SourceBackup("f", t, BackupType.FULL, "c1", null, Integrity.VERIFIED),
                new SourceBackup("i", t.plusSeconds(1), BackupType.INCREMENTAL, "c1", "f", Integrity.CORRUPT)));
        assertThat(Chains.within(linked, Set.of("f", "i"))).extracting(RetainedBackup::integrity)
                .containsExactly(Integrity.VERIFIED, Integrity.CORRUPT);
    }
}
