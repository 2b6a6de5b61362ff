package dev.lifeboat.repository.snapshot.retention;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The outcome of one retention evaluation. {@code keep} maps each kept backup to its reasons, newest first;
 * {@code expire} lists the others, newest first. Together they are exactly the backups evaluated.
 */
public record RetentionDecision(Map<String, Set<KeepReason>> keep, List<String> expire) {
    public RetentionDecision {
        keep = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(keep));
        expire = List.copyOf(expire);
    }

    public boolean kept(String backupId) {
        return keep.containsKey(backupId);
    }
}
