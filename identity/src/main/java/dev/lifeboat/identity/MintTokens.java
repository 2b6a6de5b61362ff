package dev.lifeboat.identity;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code MintTokens --keys DIR --subject NAME --role ROLE [--role ROLE...] [--lifetime P30D]}: creates the signing key
 * pair in DIR if absent and prints one signed token. {@code ./lifeboat} mints the demo's tokens with it.
 */
@Command(name = "mint-token", mixinStandardHelpOptions = true,
        description = "Print a bearer token signed with the local key pair (created if absent).")
public final class MintTokens implements Callable<Integer> {
    @Option(names = "--keys", required = true, description = "directory of private.pem / public.pem")
    Path keys;
    @Option(names = "--subject", required = true, description = "the token's subject (who acts)")
    String subject;
    @Option(names = "--role", required = true, description = "a role to grant (repeatable)")
    List<String> roles;
    @Option(names = "--issuer", defaultValue = TokenMinter.LOCAL_ISSUER)
    String issuer;
    @Option(names = "--roles-claim", defaultValue = "groups")
    String rolesClaim;
    @Option(names = "--audience", defaultValue = TokenMinter.AUDIENCE)
    String audience;
    @Option(names = "--lifetime", defaultValue = "P30D", description = "ISO-8601 duration, default ${DEFAULT-VALUE}")
    Duration lifetime;

    @Override
    public Integer call() {
        for (String role : roles) {
            if (!Roles.ALL.contains(role)) {
                System.err.println("unknown role '" + role + "'; known: " + Roles.ALL);
                return 2;
            }
        }
        System.out.println(new TokenMinter(SigningKeys.loadOrCreate(keys), issuer, rolesClaim, audience)
                .mint(subject, roles, lifetime));
        return 0;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new MintTokens()).execute(args));
    }
}
