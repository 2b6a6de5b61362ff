package dev.lifeboat.scheduler.service;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Optional;

/** Five-field Unix cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC. */
public final class CronSchedule {
    private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private CronSchedule() {
    }

    /** Empty when valid, else why not, in words a user can act on. */
    public static Optional<String> problem(String expression) {
        if (expression == null || expression.isBlank()) {
            return Optional.of("schedule is empty");
        }
        try {
            PARSER.parse(expression.trim()).validate();
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.of("schedule '" + expression + "' is not a 5-field Unix cron expression "
                    + "(minute hour day-of-month month day-of-week, e.g. '0 2 * * *'): " + e.getMessage());
        }
    }

    public static Optional<Instant> nextAfter(String expression, Instant after) {
        return ExecutionTime.forCron(PARSER.parse(expression.trim()))
                .nextExecution(ZonedDateTime.ofInstant(after, ZoneOffset.UTC))
                .map(ZonedDateTime::toInstant);
    }

    /** The latest slot before {@code before}. */
    public static Optional<Instant> latestBefore(String expression, Instant before) {
        return ExecutionTime.forCron(PARSER.parse(expression.trim()))
                .lastExecution(ZonedDateTime.ofInstant(before, ZoneOffset.UTC))
                .map(ZonedDateTime::toInstant);
    }
}
