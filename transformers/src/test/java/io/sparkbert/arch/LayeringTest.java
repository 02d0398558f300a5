package io.sparkbert.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * Keeps the layering of docs/design.md: the engine does not reach up into the Spark stages (its
 * freedom from Spark itself is checked by {@code io.sparkbert.bert.EngineArchitectureTest}), and
 * nothing in the library depends on the jobs.
 */
class LayeringTest {
    private static final JavaClasses MAIN =
            new ClassFileImporter()
                    .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                    .importPackages("io.sparkbert");

    @Test
    void engineDoesNotReachUpIntoStages() {
        noClasses()
                .that()
                .resideInAPackage("io.sparkbert.bert..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "io.sparkbert.feature..",
                        "io.sparkbert.classification..",
                        "io.sparkbert.inference..",
                        "io.sparkbert.persistence..")
                .check(MAIN);
    }

    @Test
    void libraryDoesNotDependOnJobs() {
        noClasses()
                .that()
                .resideOutsideOfPackage("io.sparkbert.jobs..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("io.sparkbert.jobs..")
                .check(MAIN);
    }
}
