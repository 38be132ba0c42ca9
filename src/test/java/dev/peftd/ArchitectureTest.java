package dev.peftd;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.peftd.api.ApiProblem;
import dev.peftd.serving.LocalServing;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The arrows between packages. The ML core stays usable without the service; every other package sits on a layer and
 * may use only the layers below it; a few finer rules say which door a package may come through.
 */
class ArchitectureTest {

    /**
     * The packages from the bottom up: each may depend on those before it, never on those after it. {@code kernel} is
     * the shared kernel (data directory, clock); {@code api} the HTTP edge every feature shares (problem+json, ids,
     * pages); {@code ops} the meters, health and embedded database. docs/architecture.md draws the same picture.
     */
    static final List<String> LAYERS = List.of(
            "core", "comparison", "kernel", "api", "storage", "security", "queue", "ops", "catalog", "worker", "training",
            "serving", "job", "comparisons", "bench", "cli");

    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.peftd");

    @Test
    void coreHasNoServiceDependencies() {
        noClasses().that().resideInAPackage("dev.peftd.core..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "org.springframework..", "java.sql..", "javax.sql..", "jakarta.servlet..",
                        "jakarta.persistence..", "software.amazon..", "org.hibernate..")
                .allowEmptyShould(true)
                .check(classes);
    }

    @Test
    void coreDoesNotDependOnTheService() {
        noClasses().that().resideInAPackage("dev.peftd.core..")
                .should().dependOnClassesThat().resideOutsideOfPackages("dev.peftd.core..", "java..", "javax.annotation..",
                        "ai.djl..", "com.google.gson..", "com.hubspot.jinjava..", "org.slf4j..", "com.google.common..",
                        "org.jspecify..",
                        // DJL's own native-call library: core.tensor.OpenMpWaitPolicy sets libc's environment,
                        // MallocPolicy glibc's mmap threshold
                        "com.sun.jna..")
                .allowEmptyShould(true)
                .check(classes);
    }

    /** Every package is on a layer, so a new one cannot slip past the rule below. */
    @Test
    void everyPackageHasALayer() {
        Set<String> packages = new TreeSet<>();
        for (JavaClass type : classes) {
            String name = type.getPackageName();
            if (name.startsWith("dev.peftd.")) {
                packages.add(name.substring("dev.peftd.".length()).split("\\.")[0]);
            }
        }
        assertThat(LAYERS).containsAll(packages);
    }

    @Test
    void arrowsPointOnlyDownwards() {
        for (int i = 0; i < LAYERS.size(); i++) {
            String[] above = LAYERS.subList(i + 1, LAYERS.size()).stream()
                    .map(layer -> "dev.peftd." + layer + "..").toArray(String[]::new);
            if (above.length == 0) {
                continue;
            }
            noClasses().that().resideInAPackage("dev.peftd." + LAYERS.get(i) + "..")
                    .should().dependOnClassesThat().resideInAnyPackage(above)
                    .because(LAYERS.get(i) + " sits below " + String.join(", ", LAYERS.subList(i + 1, LAYERS.size())))
                    .check(classes);
        }
        noClasses().that().resideInAPackage("dev.peftd.*..")
                .should().dependOnClassesThat().resideInAPackage("dev.peftd")
                .because("the application class wires everything and nothing depends on it")
                .check(classes);
    }

    /**
     * The job feature sits above the queue, the workers and training: it implements their ports ({@code JobJournal},
     * {@code CheckpointLog}, {@code MethodSettings}) and they learn of a job only through its {@code Claim}.
     */
    @Test
    void queueWorkersAndTrainingDoNotReachIntoTheJobFeature() {
        noClasses().that().resideInAnyPackage("dev.peftd.queue..", "dev.peftd.worker..", "dev.peftd.training..")
                .should().dependOnClassesThat().resideInAPackage("dev.peftd.job..")
                .check(classes);
        noClasses().that().resideInAPackage("dev.peftd.queue..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.peftd.worker..", "dev.peftd.training..")
                .check(classes);
    }

    /**
     * Benchmarks measure what users get, through public doors: the core and serving's {@link LocalServing}, never the
     * engine's parts; and only the command line starts them.
     */
    @Test
    void benchmarksUseOnlyTheCoreAndServingsPublicFace() {
        noClasses().that().resideInAPackage("dev.peftd.bench..")
                .should().dependOnClassesThat(resideInAPackage("dev.peftd..")
                        .and(not(resideInAnyPackage("dev.peftd.bench..", "dev.peftd.core..")))
                        .and(not(belongToAnyOf(LocalServing.class))))
                .check(classes);
        noClasses().that().resideOutsideOfPackages("dev.peftd.bench..", "dev.peftd.cli..")
                .should().dependOnClassesThat().resideInAPackage("dev.peftd.bench..")
                .check(classes);
    }

    /**
     * HTTP problems belong to the web edge: the shared {@code api} package, the controllers, and the security filter
     * chain (it answers before any controller runs). Services, validators, registries, sources and zips throw the
     * kernel's {@code Refusal} (or a subclass) and {@code api.ProblemHandler} maps it once.
     */
    @Test
    void onlyTheWebEdgeSpeaksHttpProblems() {
        noClasses().that().resideOutsideOfPackage("dev.peftd.api..")
                .and().haveSimpleNameNotEndingWith("Controller")
                .and().haveNameNotMatching("dev\\.peftd\\.security\\.SecurityConfiguration(\\$.*)?")
                .should().dependOnClassesThat().belongToAnyOf(ApiProblem.class)
                .because("domain code throws kernel.Refusal; the web edge maps it to problem+json")
                .check(classes);
    }
}
