package dev.lifeboat.recovery.domain;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Optional;

/** Drill schedules: five-field Unix cron expressions, evaluated in UTC. */
public final class CronSchedule {
    private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private CronSchedule() {
    }

    public static Optional<String> problem(String expression) {
        try {
            PARSER.parse(expression.trim()).validate();
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.of("drillSchedule '" + expression + "' is not a 5-field Unix cron expression "
                    + "(minute hour day-of-month month day-of-week, UTC, e.g. '0 3 * * 6'): " + e.getMessage());
        }
    }

    public static Optional<Instant> nextAfter(String expression, Instant after) {
        return ExecutionTime.forCron(PARSER.parse(expression.trim()))
                .nextExecution(ZonedDateTime.ofInstant(after, ZoneOffset.UTC)).map(ZonedDateTime::toInstant);
    }
}
