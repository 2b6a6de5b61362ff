package dev.lifeboat.snapshot.service;

/**
 * The search_path of every session the worker opens on a source, a target or a restored cluster to run its own SQL.
 *
 * <p>Such a database is someone else's: its owner creates functions and operators in its schemas and sets the
 * search_path of the database and of roles in it ({@code ALTER DATABASE / ALTER ROLE ... SET search_path}). Under
 * that path a call such as {@code quote_ident(n.nspname)} goes to {@code public.quote_ident(name)} when one was
 * planted (an exact match beats {@code pg_catalog.quote_ident(text)}, CVE-2018-1058), or to any look-alike in a
 * schema put before pg_catalog, and runs with the worker's rights: a superuser's on a restored cluster. Sent as a
 * startup option it outranks every database and role setting, so only pg_catalog is searched, then the session's own
 * temporary schema, which is never searched for functions or operators and holds nothing (the worker creates no
 * temporary objects). The worker's SQL also names built-in functions with their schema, so a query does not depend
 * on this alone.
 *
 * <p>Query checks written by a plan's author are not run under it: they run as the restricted checker role under
 * the database's own settings ({@link CheckerRole}).
 */
final class SearchPath {
    /** The path. */
    static final String PINNED_PATH = "pg_catalog, pg_temp";

    /** The JDBC {@code options} property (libpq's PGOPTIONS) that pins it. */
    static final String PINNED = "-c search_path=pg_catalog,pg_temp";

    /**
     * Where an unqualified table name of a check is looked up: PostgreSQL's default path, not the database's or the
     * role's (the pinned path has no user schema).
     */
    static final String DEFAULT_FOR_TABLE_NAMES = "\"$user\", public";

    private SearchPath() {
    }
}
