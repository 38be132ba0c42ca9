package dev.peftd;

import dev.peftd.cli.Cli;
import dev.peftd.core.tensor.OpenMpWaitPolicy;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration;

/**
 * One jar, two faces: with no arguments, {@code serve}, or only Spring Boot properties ({@code --server.port=8081})
 * it starts the service; anything else is a command ({@code generate}, {@code score}, {@code train}, …) run from the
 * command line without Spring, and an unknown one is a usage error (exit code 2), never a service started by a typo.
 */
// Bearer keys are the only credentials: without the exclusion Boot adds a default "user" with a generated password
// (logged at every start) that nothing uses.
@SpringBootApplication(exclude = UserDetailsServiceAutoConfiguration.class)
// Each feature's settings are one @ConfigurationProperties record in its own package (ServingProperties,
// WorkerSettings, S3Settings, …); their defaults are in application.properties only.
@ConfigurationPropertiesScan
public class PeftdApplication {

    public static void main(String[] args) {
        // DJL must never try to download natives: the CPU libtorch ships in the jar, GPU images bring their own.
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        // before libtorch (and its libgomp, which reads the environment once) loads: see OpenMpWaitPolicy
        OpenMpWaitPolicy.preferPassive();
        if (!Cli.startsService(args)) {
            System.exit(Cli.run(args, System.out, System.err));
        }
        SpringApplication.run(PeftdApplication.class, Cli.serviceArguments(args));
    }
}
