package dev.lifeboat.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Renders results as a table (for people), JSON or YAML (for scripts); colours only on a terminal. */
final class Output {
    enum Format { table, json, yaml }

    enum Colour {
        GREEN("32"), RED("31"), YELLOW("33"), DIM("2"), BOLD("1");

        final String code;

        Colour(String code) {
            this.code = code;
        }
    }

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'")
            .withZone(ZoneOffset.UTC);

    final PrintWriter out;
    final PrintWriter err;
    final Format format;
    final boolean tty;
    final boolean colour;
    /** Standard error is a terminal: live progress is one line redrawn in place. */
    final boolean errTty;

    Output(PrintWriter out, PrintWriter err, Format format, boolean tty, boolean colour, boolean errTty) {
        this.out = out;
        this.err = err;
        this.format = format;
        this.tty = tty;
        this.colour = colour;
        this.errTty = errTty;
    }

    boolean table() {
        return format == Format.table;
    }

    /** Prints {@code value} as JSON or YAML; returns false for table output (the caller renders the table). */
    boolean structured(JsonNode value) {
        try {
            switch (format) {
                case json -> out.println(Api.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(value));
                case yaml -> out.print(Settings.yaml().writeValueAsString(value));
                default -> {
                    return false;
                }
            }
        } catch (JsonProcessingException e) {
            throw new CliException(ExitCodes.FAILED, "cannot render the result: " + e.getOriginalMessage());
        }
        out.flush();
        return true;
    }

    String paint(Colour c, String text) {
        return colour && text != null && !text.isEmpty() ? "\033[" + c.code + "m" + text + "\033[0m" : text;
    }

    /** A table with a header row; cells may carry ANSI colours (their width is measured without them). */
    static final class Table {
        private final List<String> header;
        private final List<List<String>> rows = new ArrayList<>();

        Table(String... header) {
            this.header = List.of(header);
        }

        Table row(String... cells) {
            List<String> r = new ArrayList<>();
            for (String c : cells) {
                r.add(c == null ? "-" : printable(c));
            }
            rows.add(r);
            return this;
        }

        boolean isEmpty() {
            return rows.isEmpty();
        }

        void print(PrintWriter out) {
            int[] width = new int[header.size()];
            for (int i = 0; i < header.size(); i++) {
                width[i] = header.get(i).length();
            }
            for (List<String> r : rows) {
                for (int i = 0; i < r.size() && i < width.length; i++) {
                    width[i] = Math.max(width[i], visible(r.get(i)));
                }
            }
            line(out, header, width);
            for (List<String> r : rows) {
                line(out, r, width);
            }
            out.flush();
        }

        private static void line(PrintWriter out, List<String> cells, int[] width) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < cells.size() && i < width.length; i++) {
                String c = cells.get(i);
                sb.append(c);
                if (i < cells.size() - 1) {
                    sb.append(" ".repeat(width[i] - visible(c) + 2));
                }
            }
            out.println(sb.toString().stripTrailing());
        }

        static int visible(String s) {
            return s.replaceAll("\033\\[[0-9;]*m", "").length();
        }
    }

    /** A backup's or run's status coloured by what it means: done well, failed, gone, or under way. */
    String status(String s) {
        if (s == null) {
            return null;
        }
        return switch (s) {
            case "COMPLETED", "SUCCEEDED" -> paint(Colour.GREEN, s);
            case "FAILED", "COMPENSATED" -> paint(Colour.RED, s);
            case "DELETED" -> paint(Colour.DIM, s);
            default -> paint(Colour.YELLOW, s);
        };
    }

    /** Key-value lines for one object ({@code show} commands). */
    void fields(List<String[]> pairs) {
        int w = 0;
        for (String[] p : pairs) {
            w = Math.max(w, p[0].length());
        }
        for (String[] p : pairs) {
            out.println(String.format("%-" + (w + 1) + "s %s", p[0] + ":", p[1] == null ? "-" : printable(p[1])));
        }
        out.flush();
    }

    // ---- formatting of values -------------------------------------------------------------------------------

    private static final java.util.regex.Pattern COLOUR = java.util.regex.Pattern.compile("\033\\[[0-9;]*m");

    /**
     * {@code s} with every control character shown as '?', except the colour codes of {@link #paint}: names and
     * messages come from servers and sources, and a terminal would act on the escape sequences hidden in them
     * (rewriting lines, setting the clipboard).
     */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        java.util.regex.Matcher colour = COLOUR.matcher(s);
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\033' && colour.find(i) && colour.start() == i) {
                sb.append(s, i, colour.end());
                i = colour.end();
            } else {
                sb.append(Character.isISOControl(c) || c == '\u2028' || c == '\u2029' ? '?' : c);
                i++;
            }
        }
        return sb.toString();
    }

    static String text(JsonNode n, String pointer) {
        JsonNode v = n.at(pointer);
        return v.isMissingNode() || v.isNull() ? null : v.asText();
    }

    static String time(JsonNode n, String pointer) {
        String t = text(n, pointer);
        if (t == null) {
            return null;
        }
        try {
            return TIME.format(Instant.parse(t));
        } catch (RuntimeException e) {
            return t;
        }
    }

    /** 1536 → "1.5 KiB". */
    static String bytes(Long b) {
        if (b == null) {
            return null;
        }
        if (b < 1024) {
            return b + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = b;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static Long longOrNull(JsonNode n, String pointer) {
        JsonNode v = n.at(pointer);
        return v.isNumber() ? v.asLong() : null;
    }

    /** Seconds as "45s", "12m05s", "3h12m", "2d04h". */
    static String age(Long seconds) {
        if (seconds == null) {
            return null;
        }
        long s = Math.max(0, seconds);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        if (s < 86400) {
            return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
        }
        return String.format(Locale.ROOT, "%dd%02dh", s / 86400, (s % 86400) / 3600);
    }

    static String millis(Long ms) {
        if (ms == null) {
            return null;
        }
        return ms < 10_000 ? String.format(Locale.ROOT, "%.1fs", ms / 1000.0) : age(ms / 1000);
    }

    /** An ISO-8601 duration (PT24H) as seconds; null when it is none. */
    static Long isoSeconds(String iso) {
        if (iso == null) {
            return null;
        }
        try {
            return Duration.parse(iso).toSeconds();
        } catch (RuntimeException e) {
            return null;
        }
    }

    static String shortId(String id) {
        return id == null ? null : id.length() > 8 ? id.substring(0, 8) : id;
    }
}
