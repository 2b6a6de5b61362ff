package dev.lifeboat.snapshot.service;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Which of a base backup's own settings (its {@code postgresql.conf} and {@code postgresql.auto.conf}, read in that
 * order, later lines winning, as PostgreSQL reads them) a restored cluster keeps.
 * <p>
 * The files come from the source's data directory, so whoever is superuser on the source wrote them
 * ({@code ALTER SYSTEM}). Kept as they are, they would run commands on the restoring host when recovery ends
 * ({@code recovery_end_command}, {@code archive_cleanup_command}), load any library ({@code *_preload_libraries} with
 * a path, {@code dynamic_library_path}, {@code jit_provider}, or a library with jobs of its own such as pg_cron), write
 * files anywhere ({@code external_pid_file}, the
 * log settings) or read them ({@code include}, {@code ssl_*_file}). So a setting is kept only when its name is on a
 * list of settings that do none of that and its value has the plain form of its kind; every other one stays in the
 * backup's files, which the restore keeps beside the new ones ({@code *.from-backup}), and is named in the restore's
 * result so that a DBA can carry it over by hand.
 */
final class RestoredConfiguration {
    /** Numbers with an optional unit: memory, times, counts, costs. */
    private static final Pattern NUMBER = Pattern.compile("-?[0-9]{1,12}(\\.[0-9]{1,6})?\\s?(B|kB|MB|GB|TB|us|ms|s|min|h|d)?");
    /** Plain words: time zones, locales, date styles, enum values. No quote, no "..", no leading slash. */
    private static final Pattern WORD = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_ ,./+:-]{0,63}");
    /** Library names without a path: looked up in the server's own library directory ($libdir) only. */
    private static final Pattern LIBRARIES = Pattern.compile("\\s*([A-Za-z0-9_]{1,63}(\\s*,\\s*[A-Za-z0-9_]{1,63})*)?\\s*");

    private static final Set<String> NUMERIC = Set.of(
            "max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
            "max_locks_per_transaction", "max_pred_locks_per_transaction", "superuser_reserved_connections",
            "max_replication_slots", "autovacuum_max_workers",
            "shared_buffers", "temp_buffers", "work_mem", "maintenance_work_mem", "autovacuum_work_mem",
            "logical_decoding_work_mem", "wal_buffers", "max_wal_size", "min_wal_size", "wal_keep_size",
            "checkpoint_timeout", "checkpoint_completion_target", "effective_cache_size", "effective_io_concurrency",
            "maintenance_io_concurrency", "max_parallel_workers", "max_parallel_workers_per_gather",
            "max_parallel_maintenance_workers", "random_page_cost", "seq_page_cost", "default_statistics_target",
            "max_files_per_process", "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
            "extra_float_digits");
    private static final Set<String> WORDS = Set.of(
            "timezone", "log_timezone", "datestyle", "intervalstyle", "lc_messages", "lc_monetary", "lc_numeric",
            "lc_time", "default_text_search_config", "client_encoding", "password_encryption",
            "default_transaction_isolation", "bytea_output", "standard_conforming_strings", "jit",
            "wal_compression", "synchronous_commit", "autovacuum", "wal_level", "track_io_timing");
    /** Settings whose libraries the restored cluster loads; {@code dynamic_library_path} is always {@code $libdir}. */
    private static final Set<String> LIBRARY_LISTS = Set.of("shared_preload_libraries");
    /**
     * The libraries a restored cluster preloads: only those that run nothing on their own. A library with jobs or
     * workers of its own (pg_cron, an extension's background workers) would run what the source's catalog holds as
     * soon as the cluster starts; a DBA adds such a library by hand after looking at what it would run.
     */
    static final Set<String> PRELOADS_KEPT = Set.of("pg_stat_statements", "auto_explain");

    /** The hot-standby settings a restored cluster must have at least as high as the source (pg_control's). */
    static final Map<String, String> CONTROL_MINIMUMS = Map.of(
            "max_connections setting", "max_connections",
            "max_worker_processes setting", "max_worker_processes",
            "max_wal_senders setting", "max_wal_senders",
            "max_prepared_xacts setting", "max_prepared_transactions",
            "max_locks_per_xact setting", "max_locks_per_transaction");

    /** At most this many names of settings not kept are listed (a hostile file may have any number of lines). */
    static final int MAX_NOT_KEPT_LISTED = 50;

    private final Map<String, String> kept = new LinkedHashMap<>();
    private final Set<String> notKept = new TreeSet<>();
    private int notKeptUnlisted;

    private RestoredConfiguration() {
    }

    /** Reads the files' texts in order (the later one's lines win). */
    static RestoredConfiguration of(List<String> texts) {
        RestoredConfiguration c = new RestoredConfiguration();
        for (String text : texts) {
            for (String line : text.split("\r?\n|\r", -1)) {
                c.line(line);
            }
        }
        return c;
    }

    /** The settings kept, by lower-case name, each with its value as it is to be written (unquoted). */
    Map<String, String> kept() {
        return Map.copyOf(kept);
    }

    /** The names of the settings (and include directives) of the backup's files that were not kept: the first 50. */
    Set<String> notKept() {
        return Set.copyOf(notKept);
    }

    /** Notes a whole configuration file that was not read. */
    void fileNotRead(String what) {
        notKept.add(what);
    }

    /** How many more settings were not kept than {@link #notKept()} lists. */
    int notKeptUnlisted() {
        return notKeptUnlisted;
    }

    /**
     * Raises a kept numeric setting to {@code minimum} (pg_control's value for the source: recovery stops when a
     * hot-standby setting is lower than the primary's).
     */
    void atLeast(String name, long minimum) {
        long current = Optional.ofNullable(kept.get(name)).filter(v -> v.matches("[0-9]{1,12}")).map(Long::parseLong)
                .orElse(-1L);
        if (current < minimum) {
            kept.put(name, Long.toString(minimum));
        }
    }

    /** The kept settings as configuration lines, each value single-quoted (no value holds a quote). */
    String lines() {
        StringBuilder out = new StringBuilder();
        kept.forEach((name, value) -> out.append(name).append(" = '").append(value).append("'\n"));
        if (kept.containsKey("shared_preload_libraries")) {
            out.append("dynamic_library_path = '$libdir'\n");
        }
        return out.toString();
    }

    private void line(String raw) {
        Optional<String[]> parsed = parse(raw);
        if (parsed.isEmpty()) {
            return;
        }
        String name = parsed.get()[0].toLowerCase(Locale.ROOT);
        String value = parsed.get()[1];
        if (allowed(name, value)) {
            kept.put(name, value.strip());
            notKept.remove(name);
        } else {
            // a later line that cannot be kept overrides an earlier one that could: neither is kept
            kept.remove(name);
            String shown = name.length() > 64 ? name.substring(0, 64) + "..." : name;
            if (notKept.size() < MAX_NOT_KEPT_LISTED || notKept.contains(shown)) {
                notKept.add(shown);
            } else {
                notKeptUnlisted++;
            }
        }
    }

    private static boolean allowed(String name, String value) {
        if (NUMERIC.contains(name)) {
            return NUMBER.matcher(value.strip()).matches();
        }
        if (WORDS.contains(name)) {
            return WORD.matcher(value.strip()).matches() && !value.contains("..");
        }
        return LIBRARY_LISTS.contains(name) && LIBRARIES.matcher(value).matches()
                && java.util.Arrays.stream(value.split(",")).map(String::strip).filter(l -> !l.isEmpty())
                .allMatch(PRELOADS_KEPT::contains);
    }

    /**
     * One line of a PostgreSQL configuration file as {name, value}; empty for blank lines, comments and lines that
     * are no setting. A value is a single-quoted string ('' or \' for a quote) or a bare token.
     */
    static Optional<String[]> parse(String line) {
        int i = skipBlanks(line, 0);
        int nameStart = i;
        while (i < line.length() && (Character.isLetterOrDigit(line.charAt(i)) || line.charAt(i) == '_'
                || line.charAt(i) == '.')) {
            i++;
        }
        if (i == nameStart) {
            return Optional.empty();
        }
        String name = line.substring(nameStart, i);
        i = skipBlanks(line, i);
        if (i < line.length() && line.charAt(i) == '=') {
            i = skipBlanks(line, i + 1);
        }
        if (i >= line.length() || line.charAt(i) == '#') {
            return Optional.of(new String[]{name, ""});
        }
        if (line.charAt(i) != '\'') {
            int start = i;
            while (i < line.length() && !Character.isWhitespace(line.charAt(i)) && line.charAt(i) != '#') {
                i++;
            }
            return Optional.of(new String[]{name, line.substring(start, i)});
        }
        StringBuilder value = new StringBuilder();
        for (i++; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                value.append(line.charAt(++i));
            } else if (c == '\'') {
                if (i + 1 < line.length() && line.charAt(i + 1) == '\'') {
                    value.append('\'');
                    i++;
                } else {
                    return Optional.of(new String[]{name, value.toString()});
                }
            } else {
                value.append(c);
            }
        }
        // an unterminated string: PostgreSQL refuses the file; nothing of the line is kept
        return Optional.of(new String[]{name, "'" + value});
    }

    private static int skipBlanks(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    /** pg_controldata's lines of {@link #CONTROL_MINIMUMS}, as setting name and value. */
    static Map<String, Long> controlMinimums(String pgControldataOutput) {
        Map<String, Long> found = new LinkedHashMap<>();
        for (String line : pgControldataOutput.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String setting = CONTROL_MINIMUMS.get(line.substring(0, colon).strip());
            String value = line.substring(colon + 1).strip();
            if (setting != null && value.matches("[0-9]{1,9}")) {
                found.put(setting, Long.parseLong(value));
            }
        }
        return found;
    }

    /** For a person: the names of the settings not kept, comma-separated, or "none". */
    String describeNotKept() {
        return notKept.isEmpty() ? "none" : String.join(", ", new ArrayList<>(notKept))
                + (notKeptUnlisted > 0 ? " and " + notKeptUnlisted + " more" : "");
    }
}
