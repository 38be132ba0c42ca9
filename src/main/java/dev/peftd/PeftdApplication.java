package dev.peftd;

import dev.peftd.cli.Cli;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration;

/**
 * One jar, two faces: with a known subcommand ({@code generate}, {@code score}, {@code train}, …) it runs the
 * ML core from the command line without starting Spring; otherwise it starts the service.
 */
// Bearer keys are the only credentials: without the exclusion Boot adds a default "user" with a generated password
// (logged at every start) that nothing uses.
@SpringBootApplication(exclude = UserDetailsServiceAutoConfiguration.class)
public class PeftdApplication {

    public static void main(String[] args) {
        // DJL must never try to download natives: the CPU libtorch ships in the jar, GPU images bring their own.
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        if (Cli.handles(args)) {
            System.exit(Cli.run(args, System.out, System.err));
        }
        SpringApplication.run(PeftdApplication.class, args);
    }
}
