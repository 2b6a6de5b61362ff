package dev.lifeboat.cli;

import dev.lifeboat.cli.Settings.Service;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

/** The {@code lifeboat} command: its global options, its subcommands and the mapping of failures to exit codes. */
@Command(name = "lifeboat", mixinStandardHelpOptions = true, scope = ScopeType.INHERIT,
        versionProvider = Lifeboat.Version.class,
        description = "Operate Lifeboat (backup and disaster recovery for PostgreSQL fleets) over its HTTP APIs.",
        footerHeading = "%nExit codes:%n",
        footer = {"  0  ok", "  1  operation failed (backup or run FAILED, source outside its RPO or missing a privilege, "
                        + "server error)",
                "  2  usage (unknown command or option, invalid argument)",
                "  3  authentication or authorization (401, 403, no token)",
                "  4  not found (404)", "  5  server unreachable, 503 or timeout; source check: the source unreachable",
                "  6  request refused as invalid or conflicting (400, 409, 413, 422)",
                "  7  busy: the server runs as many of these operations as it allows (429); retry in a few seconds"})
public final class Lifeboat implements Runnable {
    @Spec
    CommandSpec spec;

    @Option(names = {"-o", "--output"}, scope = ScopeType.INHERIT, paramLabel = "FORMAT",
            description = "table (default), json or yaml")
    Output.Format format = Output.Format.table;

    @Option(names = "--gateway", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "one base URL for every service (each under /scheduler, /catalog, /recovery, /storage, /snapshot); "
                    + "env LIFEBOAT_GATEWAY_URL")
    String gateway;

    @Option(names = "--scheduler-url", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "scheduler-service (default http://127.0.0.1:8081); env LIFEBOAT_SCHEDULER_URL")
    String schedulerUrl;

    @Option(names = "--catalog-url", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "catalog-service (default http://127.0.0.1:8085); env LIFEBOAT_CATALOG_URL")
    String catalogUrl;

    @Option(names = "--recovery-url", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "recovery-coordinator (default http://127.0.0.1:8084); env LIFEBOAT_RECOVERY_URL")
    String recoveryUrl;

    @Option(names = "--storage-url", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "storage-worker (default http://127.0.0.1:8083); env LIFEBOAT_STORAGE_URL")
    String storageUrl;

    @Option(names = "--snapshot-url", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "snapshot-worker (default http://127.0.0.1:8082); env LIFEBOAT_SNAPSHOT_URL")
    String snapshotUrl;

    @Option(names = "--token", scope = ScopeType.INHERIT, paramLabel = "JWT",
            description = "bearer token (visible to other local users in the process list: prefer --token-file, "
                    + "LIFEBOAT_TOKEN or `lifeboat login`)")
    String token;

    @Option(names = "--token-file", scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "file holding the bearer token; env LIFEBOAT_TOKEN_FILE")
    Path tokenFile;

    @Option(names = "--config", scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "config file (default ~/.config/lifeboat/config.yaml); env LIFEBOAT_CONFIG")
    Path config;

    @Option(names = "--timeout", scope = ScopeType.INHERIT, paramLabel = "SECONDS",
            description = "deadline of each HTTP request (default 30)")
    int timeoutSeconds = 30;

    @Option(names = "--no-color", scope = ScopeType.INHERIT, description = "no colours even on a terminal (NO_COLOR too)")
    boolean noColor;

    Map<String, String> env = System.getenv();
    PrintWriter out;
    PrintWriter err;
    private Settings settings;
    private Api api;
    private Output output;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command (lifeboat --help lists them)");
    }

    Settings settings() {
        if (settings == null) {
            Map<Service, String> urls = new EnumMap<>(Service.class);
            urls.put(Service.SCHEDULER, schedulerUrl);
            urls.put(Service.CATALOG, catalogUrl);
            urls.put(Service.RECOVERY, recoveryUrl);
            urls.put(Service.STORAGE, storageUrl);
            urls.put(Service.SNAPSHOT, snapshotUrl);
            settings = Settings.resolve(new Settings.Flags(gateway, urls, token, tokenFile, config), env, repoRoot());
        }
        return settings;
    }

    /** The repository the CLI runs from (the launcher passes it), for the local run's tokens; null outside one. */
    Path repoRoot() {
        String home = System.getProperty("lifeboat.repo");
        if (home == null || home.isBlank()) {
            return null;
        }
        Path p = Path.of(home);
        return Files.isDirectory(p.resolve(".work")) ? p : null;
    }

    Api api() {
        if (api == null) {
            if (timeoutSeconds < 1 || timeoutSeconds > 3600) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--timeout: 1 to 3600 seconds");
            }
            api = new Api(settings(), Duration.ofSeconds(timeoutSeconds));
        }
        return api;
    }

    Output output() {
        if (output == null) {
            String tty = System.getProperty("lifeboat.tty");
            boolean terminal = tty != null ? Boolean.parseBoolean(tty) : System.console() != null;
            boolean colour = terminal && !noColor && env.get("NO_COLOR") == null
                    && !"dumb".equals(env.get("TERM"));
            String errTty = System.getProperty("lifeboat.tty.err");
            output = new Output(out, err, format, terminal, colour,
                    errTty != null ? Boolean.parseBoolean(errTty) : terminal);
        }
        return output;
    }

    static Lifeboat root(CommandSpec spec) {
        return (Lifeboat) spec.root().userObject();
    }

    public static void main(String[] args) {
        System.exit(execute(args, System.getenv(), new PrintWriter(System.out, true, StandardCharsets.UTF_8),
                new PrintWriter(System.err, true, StandardCharsets.UTF_8)));
    }

    static int execute(String[] args, Map<String, String> env, PrintWriter out, PrintWriter err) {
        Lifeboat root = new Lifeboat();
        root.env = env;
        root.out = out;
        root.err = err;
        CommandLine cl = commandLine(root, args);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof CliException e) {
                err.println("lifeboat: " + e.getMessage());
                err.flush();
                return e.exitCode();
            }
            if (ex instanceof CommandLine.ParameterException pe) {
                err.println("lifeboat: " + pe.getMessage());
                pe.getCommandLine().usage(err);
                return ExitCodes.USAGE;
            }
            err.println("lifeboat: unexpected " + ex.getClass().getSimpleName() + ": " + ex.getMessage());
            err.flush();
            return ExitCodes.FAILED;
        });
        return cl.execute(args);
    }

    /** The commands, in the order of the help. */
    private static final Map<String, Class<?>> COMMANDS = commands(LoginCommand.class, SourceCommand.class,
            PolicyCommand.class, BackupCommand.class, RestoreCommand.class, PlanCommand.class, DrillCommand.class,
            RunCommand.class, StatusCommand.class, DlqCommand.class);

    /** The root's options that take their value from the next argument. */
    private static final java.util.Set<String> VALUED_OPTIONS = java.util.Set.of("-o", "--output", "--gateway",
            "--scheduler-url", "--snapshot-url", "--storage-url", "--recovery-url", "--catalog-url", "--token",
            "--token-file", "--config", "--timeout");
    private static final java.util.Set<String> FLAGS = java.util.Set.of("--no-color");

    private static Map<String, Class<?>> commands(Class<?>... classes) {
        Map<String, Class<?>> m = new java.util.LinkedHashMap<>();
        for (Class<?> c : classes) {
            m.put(c.getAnnotation(Command.class).name(), c);
        }
        return m;
    }

    static CommandLine commandLine(Lifeboat root) {
        return commandLine(root, null);
    }

    /**
     * The command line with only the command {@code args} name, when they name one plainly: picocli reads every
     * command's annotations by reflection when it is added, which was most of a short command's start. Every command
     * (and completion) for the help, a version, anything unknown or unclear.
     */
    static CommandLine commandLine(Lifeboat root, String[] args) {
        CommandLine cl = new CommandLine(root).setCaseInsensitiveEnumValuesAllowed(true);
        String named = args == null ? null : named(args);
        if (named != null) {
            cl.addSubcommand(named, COMMANDS.get(named));
            return cl;
        }
        COMMANDS.forEach(cl::addSubcommand);
        CommandLine completion = new CommandLine(new AutoComplete.GenerateCompletion());
        completion.getCommandSpec().usageMessage().description(
                "Prints a bash/zsh completion script: source <(lifeboat completion)");
        cl.addSubcommand("completion", completion);
        return cl;
    }

    /** The command the arguments name after the root's own options; null when that is not plain. */
    static String named(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (VALUED_OPTIONS.contains(a)) {
                i++;
            } else if (a.startsWith("--") && a.contains("=")
                    && VALUED_OPTIONS.contains(a.substring(0, a.indexOf('=')))) {
                continue;
            } else if (a.startsWith("-o") && a.length() > 2 && !a.startsWith("--")) {
                continue;
            } else if (!FLAGS.contains(a)) {
                return COMMANDS.containsKey(a) ? a : null;
            }
        }
        return null;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Lifeboat.class.getPackage().getImplementationVersion();
            return new String[]{"lifeboat " + (v == null ? "development build" : v)};
        }
    }
}
