package dev.peftd;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.peftd.serving.LocalServing;
import org.junit.jupiter.api.Test;

/** The ML core must stay usable without the service: no Spring, JDBC, servlet, JPA or AWS in {@code dev.peftd.core}. */
class ArchitectureTest {

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
                        "org.jspecify..")
                .allowEmptyShould(true)
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
}
