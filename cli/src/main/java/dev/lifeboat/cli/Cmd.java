package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.cli.Settings.Service;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

/** What every leaf command shares: the root's settings, API and output, id checks, list paging, files. */
abstract class Cmd implements Callable<Integer> {
    static final Pattern NAME = Pattern.compile("^[a-z0-9][a-z0-9._-]{0,62}$");
    static final Pattern SLUG = Pattern.compile("^[a-z0-9][a-z0-9-]{0,62}$");
    static final Pattern UUID = Pattern.compile("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");

    @Spec
    CommandSpec spec;

    Lifeboat root() {
        return Lifeboat.root(spec);
    }

    Api api() {
        return root().api();
    }

    Output out() {
        return root().output();
    }

    CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    String checkId(String what, String value, Pattern pattern) {
        if (value == null || !pattern.matcher(value).matches()) {
            throw usage(what + " '" + value + "' is not valid (" + switch (pattern.pattern()) {
                case "^[a-z0-9][a-z0-9._-]{0,62}$" -> "lower-case letters, digits, . _ -; at most 63";
                case "^[a-z0-9][a-z0-9-]{0,62}$" -> "lower-case letters, digits, -; at most 63";
                default -> "a UUID";
            } + ")");
        }
        return value;
    }

    /** A YAML or JSON document from a file ("-": standard input). */
    JsonNode readDocument(Path file) {
        try {
            String text = "-".equals(file.toString()) ? new String(System.in.readAllBytes())
                    : Files.readString(file);
            JsonNode n = Settings.yaml().readTree(text);
            if (n == null || !n.isObject()) {
                throw usage(file + ": expected a YAML or JSON object");
            }
            return n;
        } catch (IOException e) {
            throw usage("cannot read " + file + ": " + e.getMessage());
        }
    }

    /** One page of a list endpoint, whichever shape it answers: a plain array, page/size/total, or a cursor. */
    record Page(List<JsonNode> items, String nextCursor, Long total, Integer page, Integer size) {
        JsonNode toJson() {
            ObjectNode n = Api.JSON.createObjectNode();
            ArrayNode a = n.putArray("items");
            items.forEach(a::add);
            if (nextCursor != null) {
                n.put("nextCursor", nextCursor);
            }
            if (total != null) {
                n.put("total", total);
            }
            if (page != null) {
                n.put("page", page);
            }
            return n;
        }
    }

    static Page page(JsonNode body) {
        List<JsonNode> items = new ArrayList<>();
        if (body.isArray()) {
            body.forEach(items::add);
            return new Page(items, null, null, null, null);
        }
        body.path("items").forEach(items::add);
        String cursor = body.hasNonNull("nextCursor") && !body.get("nextCursor").asText().isEmpty()
                ? body.get("nextCursor").asText() : null;
        Long total = body.path("total").isNumber() ? body.get("total").asLong() : null;
        Integer page = body.path("page").isNumber() ? body.get("page").asInt() : null;
        Integer size = body.path("size").isNumber() ? body.get("size").asInt() : null;
        return new Page(items, cursor, total, page, size);
    }

    /**
     * A list endpoint's first {@code limit} items from {@code cursor} (or page {@code pageNumber} on a service that
     * pages by number), following the service's cursor or page numbers until enough are read.
     */
    Page list(Service s, String path, Map<String, String> filters, int limit, String cursor, Integer pageNumber) {
        if (limit < 1 || limit > 10_000) {
            throw usage("--limit: 1 to 10000");
        }
        List<JsonNode> items = new ArrayList<>();
        String next = cursor;
        Integer pageNo = pageNumber;
        Page last;
        do {
            Map<String, String> q = new LinkedHashMap<>(filters);
            q.put("size", String.valueOf(Math.min(200, limit - items.size())));
            if (next != null) {
                q.put("cursor", next);
            } else if (pageNo != null) {
                q.put("page", String.valueOf(pageNo));
            }
            last = page(api().get(s, path, q));
            items.addAll(last.items());
            next = last.nextCursor();
            boolean morePages = last.page() != null && last.total() != null && last.size() != null
                    && (long) (last.page() + 1) * last.size() < last.total();
            pageNo = next == null && morePages ? last.page() + 1 : null;
            if (last.items().isEmpty()) {
                break;
            }
        } while (items.size() < limit && (next != null || pageNo != null));
        if (items.size() > limit) {
            items = items.subList(0, limit);
        }
        return new Page(items, next, last.total(), last.page(), last.size());
    }

    /** After a table: how to read on, on standard error (standard output stays the table alone). */
    void moreHint(Page p, int shown) {
        if (!out().table()) {
            return;
        }
        if (p.nextCursor() != null) {
            out().err.println("more: --cursor " + p.nextCursor());
        } else if (p.total() != null && p.total() > shown) {
            out().err.println(shown + " of " + p.total() + " shown (--limit, --page)");
        }
        out().err.flush();
    }
}
