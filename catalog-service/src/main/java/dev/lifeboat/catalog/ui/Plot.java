package dev.lifeboat.catalog.ui;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongFunction;

/**
 * A line of values over time laid out for an inline SVG (the template draws it): coordinates in a fixed viewBox,
 * numbers only, so nothing of the data reaches the markup but the labels, which the template escapes.
 *
 * @param points the markers, oldest first, each with its label (time and value) for a tooltip
 * @param line   the polyline's {@code points} attribute
 */
public record Plot(String title, List<Point> points, String line, String yMax, String from, String to) {
    public static final int WIDTH = 600;
    public static final int HEIGHT = 160;
    private static final int PAD = 8;

    public record Point(double x, double y, String label) {
    }

    public record Sample(Instant at, long value) {
    }

    public boolean isEmpty() {
        return points.isEmpty();
    }

    /** {@code samples} in any order; {@code format} turns a value into its label (e.g. bytes as "1.5 MiB"). */
    public static Plot of(String title, List<Sample> samples, LongFunction<String> format) {
        List<Sample> sorted = samples.stream().filter(s -> s.at() != null)
                .sorted(Comparator.comparing(Sample::at)).toList();
        if (sorted.isEmpty()) {
            return new Plot(title, List.of(), "", "", "", "");
        }
        long t0 = sorted.getFirst().at().toEpochMilli();
        long span = Math.max(1, sorted.getLast().at().toEpochMilli() - t0);
        long max = Math.max(1, sorted.stream().mapToLong(Sample::value).max().orElse(1));
        List<Point> points = new ArrayList<>(sorted.size());
        StringBuilder line = new StringBuilder();
        for (Sample s : sorted) {
            double x = sorted.size() == 1 ? WIDTH / 2.0
                    : PAD + (WIDTH - 2.0 * PAD) * (s.at().toEpochMilli() - t0) / span;
            double y = HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * s.value() / max;
            x = Math.round(x * 10) / 10.0;
            y = Math.round(y * 10) / 10.0;
            points.add(new Point(x, y, Formats.utc(s.at()) + ": " + format.apply(s.value())));
            line.append(x).append(',').append(y).append(' ');
        }
        return new Plot(title, points, line.toString().trim(), format.apply(max),
                Formats.utc(sorted.getFirst().at()), Formats.utc(sorted.getLast().at()));
    }
}
