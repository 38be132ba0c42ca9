package dev.peftd.training;

import dev.peftd.kernel.Settings;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param checkpointKeepLast {@code peftd.training.checkpoint-keep-last} ({@code PEFTD_CHECKPOINT_KEEP_LAST}):
 *                           checkpoints kept per job, the newest N plus the lowest-loss one; 0 keeps every one
 */
@ConfigurationProperties("peftd.training")
record TrainingProperties(int checkpointKeepLast) {

    TrainingProperties {
        Settings.atLeast(checkpointKeepLast, 0, "peftd.training.checkpoint-keep-last (0 keeps all)");
    }
}
