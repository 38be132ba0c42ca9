package dev.peftd;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
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
}
