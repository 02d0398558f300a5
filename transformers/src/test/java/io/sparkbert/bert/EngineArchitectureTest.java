package io.sparkbert.bert;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The engine package stays Spark-free so that it runs in any JVM. */
class EngineArchitectureTest {
    @Test
    void engineDoesNotDependOnSparkOrScala() {
        JavaClasses engine =
                new ClassFileImporter()
                        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                        .importPackages("io.sparkbert.bert");
        noClasses()
                .that()
                .resideInAPackage("io.sparkbert.bert..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.apache.spark..", "scala..")
                .check(engine);
    }
}
