package dev.peftd.kernel;

import java.nio.file.Path;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.core.Ordered;

/**
 * Takes the data folder's lock as soon as the settings are known, before the context is even created: a second
 * process on the folder then stops within a second or two with Boot's short failure report (see
 * {@link DataDirectoryInUseFailureAnalyzer}) rather than half-way through creating beans. The
 * {@link DataDirectory} bean takes it too, which is what guarantees the order if this listener is not registered.
 */
class DataDirectoryLockListener implements ApplicationListener<ApplicationEnvironmentPreparedEvent>, Ordered {

    @Override
    public void onApplicationEvent(ApplicationEnvironmentPreparedEvent event) {
        String root = event.getEnvironment().getProperty("peftd.data-dir");
        if (root != null) {
            DataDirectoryLock.acquire(new DataDirectory(Path.of(root)));
        }
    }

    /** After Boot's logging listener, so that the refusal is reported through the configured logging. */
    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
