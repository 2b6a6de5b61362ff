package dev.lifeboat.catalog.ui;

import io.quarkus.qute.TemplateExtension;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;

/** How the dashboard's templates show times, sizes and durations, and put data into URLs: {@code {fmt:bytes(b.sizeBytes)}}; every one takes null. */
@TemplateExtension(namespace = "fmt")
public final class Formats {
    private static final DateTimeFormatter UTC = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
            .withZone(ZoneOffset.UTC);

    private Formats() {
    }

    /** An instant as UTC text, to the second; empty for null. */
    static String utc(Instant at) {
        return at == null ? "" : UTC.format(at.truncatedTo(ChronoUnit.SECONDS));
    }

    /** Seconds as the two largest units ("3 h 12 min", "45 s"). */
    static String seconds(Long s) {
        if (s == null) {
            return "";
        }
        Duration d = Duration.ofSeconds(Math.abs(s));
        String text = d.toDays() > 0 ? d.toDays() + " d " + d.toHoursPart() + " h"
                : d.toHours() > 0 ? d.toHours() + " h " + d.toMinutesPart() + " min"
                : d.toMinutes() > 0 ? d.toMinutes() + " min " + d.toSecondsPart() + " s"
                : d.toSeconds() + " s";
        return s < 0 ? "-" + text : text;
    }

    static String secs(Double s) {
        return s == null ? "" : s < 10 ? String.format("%.1f s", s) : seconds(Math.round(s));
    }

    static String millis(Long ms) {
        return ms == null ? "" : ms < 10_000 ? String.format("%.2f s", ms / 1000.0) : seconds(Math.round(ms / 1000.0));
    }

    /** Bytes in binary units ("1.5 MiB"). */
    static String bytes(Long n) {
        if (n == null) {
            return "";
        }
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = n;
        int i = -1;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format("%.1f %s", v, units[i]);
    }

    /** One path segment of a dashboard URL: whatever the text holds, it stays one segment. */
    static String segment(String s) {
        return s == null ? "" : URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** A query parameter value. */
    static String param(String s) {
        return s == null ? "" : URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
