package dev.lifeboat.cli;

import picocli.CommandLine.Option;

/** The paging options of every list command (a picocli mixin). */
final class Paging {
    @Option(names = "--limit", description = "at most this many (default 20)")
    int limit = 20;
    @Option(names = "--cursor", description = "continue where a listing stopped (the nextCursor it printed)")
    String cursor;
    @Option(names = "--page", description = "start at this page (services that page by number)")
    Integer page;
}
