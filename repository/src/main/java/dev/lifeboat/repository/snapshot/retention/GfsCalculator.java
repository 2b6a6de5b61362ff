package dev.lifeboat.repository.snapshot.retention;

import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Grandfather-father-son retention over a policy's completed backups, in UTC. Pure: the same backups and counts
 * always give the same decision, and "now" plays no part, so a policy whose backups stopped keeps its last ones.
 * <ul>
 *   <li>daily: the newest backup of each of the last {@code daily} days that have a backup;</li>
 *   <li>weekly: the newest of each of the last {@code weekly} ISO weeks (Monday to Sunday) that have one;</li>
 *   <li>monthly: the newest of each of the last {@code monthly} calendar months that have one;</li>
 *   <li>the newest backup is always kept;</li>
 *   <li>the newest backup whose full verification passed is always kept;</li>
 *   <li>whatever a kept backup depends on, transitively, is kept too.</li>
 * </ul>
 * A backup whose latest verification found it corrupt is left out of every count above (it takes no slot and is
 * never "the newest"); it is kept only as a DEPENDENCY of a kept backup. Such a dependent is judged by its own
 * verdict: its manifest lists every chunk it needs, so its own verification shows whether a shared chunk is bad.
 */
public final class GfsCalculator {
    /** Newest first; equal completion times are ordered by id so the decision does not depend on input order. */
    private static final Comparator<RetainedBackup> NEWEST_FIRST = Comparator
            .comparing(RetainedBackup::completedAt).thenComparing(RetainedBackup::backupId).reversed();

    private GfsCalculator() {
    }

    public static RetentionDecision decide(List<RetainedBackup> backups, RetentionCounts counts) {
        List<RetainedBackup> newestFirst = backups.stream().sorted(NEWEST_FIRST).toList();
        // a corrupt backup can never be restored, so it must not take the slot of a good one
        List<RetainedBackup> usable = newestFirst.stream().filter(b -> b.integrity() != Integrity.CORRUPT).toList();
        Map<String, Set<KeepReason>> reasons = new HashMap<>();
        if (!usable.isEmpty()) {
            add(reasons, usable.get(0).backupId(), KeepReason.NEWEST);
        }
        usable.stream().filter(b -> b.integrity() == Integrity.VERIFIED).findFirst()
                .ifPresent(b -> add(reasons, b.backupId(), KeepReason.NEWEST_VERIFIED));
        newestPerPeriod(usable, counts.daily(), GfsCalculator::day)
                .forEach(id -> add(reasons, id, KeepReason.DAILY));
        newestPerPeriod(usable, counts.weekly(), GfsCalculator::isoWeek)
                .forEach(id -> add(reasons, id, KeepReason.WEEKLY));
        newestPerPeriod(usable, counts.monthly(), b -> YearMonth.from(day(b)))
                .forEach(id -> add(reasons, id, KeepReason.MONTHLY));
        keepDependencies(newestFirst, reasons);

        Map<String, Set<KeepReason>> keep = new LinkedHashMap<>();
        List<String> expire = new ArrayList<>();
        for (RetainedBackup b : newestFirst) {
            Set<KeepReason> r = reasons.get(b.backupId());
            if (r == null) {
                expire.add(b.backupId());
            } else {
                keep.put(b.backupId(), java.util.Collections.unmodifiableSet(EnumSet.copyOf(r)));
            }
        }
        return new RetentionDecision(keep, expire);
    }

    /** The newest backup of each of the first {@code count} distinct periods, walking newest first. */
    private static List<String> newestPerPeriod(List<RetainedBackup> newestFirst, int count,
                                                Function<RetainedBackup, Object> period) {
        List<String> kept = new ArrayList<>();
        Set<Object> seen = new HashSet<>();
        for (RetainedBackup b : newestFirst) {
            Object p = period.apply(b);
            if (seen.contains(p)) {
                continue;
            }
            if (seen.size() == count) {
                break;
            }
            seen.add(p);
            kept.add(b.backupId());
        }
        return kept;
    }

    /** Follows each kept backup's dependsOn links; a link to a backup outside the evaluated set ends the walk. */
    private static void keepDependencies(List<RetainedBackup> backups, Map<String, Set<KeepReason>> reasons) {
        Map<String, RetainedBackup> byId = new HashMap<>();
        backups.forEach(b -> byId.put(b.backupId(), b));
        for (String keptId : List.copyOf(reasons.keySet())) {
            Set<String> visited = new HashSet<>();
            RetainedBackup current = byId.get(keptId);
            while (current != null && current.dependsOn() != null && visited.add(current.backupId())) {
                String parent = current.dependsOn();
                if (byId.containsKey(parent)) {
                    add(reasons, parent, KeepReason.DEPENDENCY);
                }
                current = byId.get(parent);
            }
        }
    }

    private static void add(Map<String, Set<KeepReason>> reasons, String id, KeepReason reason) {
        reasons.computeIfAbsent(id, k -> EnumSet.noneOf(KeepReason.class)).add(reason);
    }

    private static LocalDate day(RetainedBackup b) {
        return LocalDate.ofInstant(b.completedAt(), ZoneOffset.UTC);
    }

    private static Object isoWeek(RetainedBackup b) {
        LocalDate d = day(b);
        return List.of(d.get(IsoFields.WEEK_BASED_YEAR), d.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
    }
}
