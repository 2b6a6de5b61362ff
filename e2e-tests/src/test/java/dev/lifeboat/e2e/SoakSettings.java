package dev.lifeboat.e2e;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What one soak run does, from system properties ({@code -Dlifeboat.soak.<name>=}) or environment variables
 * ({@code SOAK_<NAME>}), the property first. The defaults are the short in-suite run; {@code deploy/bench/soak.sh}
 * passes the long run's values. The seed alone fixes the schedule of faults and work: the same seed and settings
 * replay the same schedule.
 *
 * @param seed          drives every random choice (printed; {@code lifeboat.soak.seed} / {@code SOAK_SEED})
 * @param window        how long faults are injected and work is requested ({@code minutes} / {@code SOAK_MINUTES})
 * @param outage        how long PostgreSQL, the object store or the broker stay stopped, min-max
 * @param lock          how long a lock on a source table is held, min-max
 * @param gap           pause between two faults of one lane, min-max
 * @param backupEvery   pause between two on-demand backup requests, min-max
 * @param drillEvery    pause between two drills, min-max
 * @param drain         after the window, how long work may take to end before what is still open counts as stuck
 * @param enforce       findings fail the test (else the run is reported as aborted, with every finding)
 * @param serviceEnv    added to every service's environment, e.g. a shorter watchdog for a short run
 * @param ready         how long a service instance may take to be ready, at start and after a kill
 */
public record SoakSettings(long seed, Duration window, Range outage, Range lock, Range gap, Range backupEvery,
                           Range drillEvery, Duration drain, boolean enforce, Map<String, String> serviceEnv,
                           Duration ready) {

    /** Seconds, inclusive, drawn uniformly. */
    public record Range(int min, int max) {
        public Range {
            if (min < 0 || max < min) {
                throw new IllegalArgumentException("range " + min + "-" + max + ": expected 0 <= min <= max");
            }
        }

        static Range parse(String name, String text) {
            String[] parts = text.trim().split("-", 2);
            try {
                int min = Integer.parseInt(parts[0].trim());
                return new Range(min, parts.length == 1 ? min : Integer.parseInt(parts[1].trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + "=" + text + ": expected seconds as MIN-MAX, e.g. 30-90");
            }
        }

        Duration draw(java.util.Random random) {
            return Duration.ofSeconds(min + random.nextInt(max - min + 1));
        }

        @Override
        public String toString() {
            return min == max ? min + " s" : min + "-" + max + " s";
        }
    }

    public static SoakSettings fromEnvironment() {
        String seedText = value("seed", null);
        long seed = seedText == null ? ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE) : parseSeed(seedText);
        return new SoakSettings(seed,
                minutes("minutes", "1.5"),
                range("outageSeconds", "10-15"),
                range("lockSeconds", "10-20"),
                range("gapSeconds", "5-10"),
                range("backupEverySeconds", "8-15"),
                range("drillEverySeconds", "30-50"),
                minutes("drainMinutes", "2"),
                Boolean.parseBoolean(value("enforce", "true")),
                env(value("serviceEnv", "")),
                minutes("readyMinutes", "5"));
    }

    private static long parseSeed(String text) {
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("lifeboat.soak.seed / SOAK_SEED=" + text + ": expected a long, as printed");
        }
    }

    private static Duration minutes(String name, String def) {
        String v = value(name, def);
        try {
            return Duration.ofMillis(Math.round(Double.parseDouble(v.trim()) * 60_000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "=" + v + ": expected minutes, e.g. 20 or 1.5");
        }
    }

    private static Range range(String name, String def) {
        return Range.parse(name, value(name, def));
    }

    /** {@code K=V,K=V} */
    private static Map<String, String> env(String text) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String pair : text.split(",")) {
            if (pair.isBlank()) {
                continue;
            }
            int eq = pair.indexOf('=');
            if (eq < 1) {
                throw new IllegalArgumentException("lifeboat.soak.serviceEnv: '" + pair + "' is not NAME=VALUE");
            }
            env.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
        }
        return env;
    }

    /** {@code lifeboat.soak.outageSeconds}, else {@code SOAK_OUTAGE_SECONDS}, else {@code def}. */
    static String value(String name, String def) {
        String prop = System.getProperty("lifeboat.soak." + name);
        if (prop != null && !prop.isBlank()) {
            return prop;
        }
        String v = System.getenv(envName(name));
        return v == null || v.isBlank() ? def : v;
    }

    static String envName(String name) {
        return "SOAK_" + name.replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(java.util.Locale.ROOT);
    }

    /** The settings as the report prints them, so that a run can be replayed exactly. */
    String replayLine() {
        return "SOAK_SEED=" + seed + " SOAK_MINUTES=" + window.toMillis() / 60_000.0 + " SOAK_OUTAGE_SECONDS="
                + outage.min + "-" + outage.max + " SOAK_LOCK_SECONDS=" + lock.min + "-" + lock.max
                + " SOAK_GAP_SECONDS=" + gap.min + "-" + gap.max + " SOAK_BACKUP_EVERY_SECONDS=" + backupEvery.min
                + "-" + backupEvery.max + " SOAK_DRILL_EVERY_SECONDS=" + drillEvery.min + "-" + drillEvery.max
                + " SOAK_DRAIN_MINUTES=" + drain.toMillis() / 60_000.0 + " SOAK_READY_MINUTES=" + ready.toMillis() / 60_000.0;
    }
}
