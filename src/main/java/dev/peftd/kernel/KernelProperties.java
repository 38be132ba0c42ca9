package dev.peftd.kernel;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** {@code peftd.data-dir} ({@code PEFTD_DATA_DIR}): the folder this process owns. */
@ConfigurationProperties("peftd")
record KernelProperties(Path dataDir) {

    KernelProperties {
        Settings.required(dataDir, "peftd.data-dir");
    }
}
