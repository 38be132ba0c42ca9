package dev.peftd.worker;

import dev.peftd.ops.ServiceMeters;
import dev.peftd.queue.JobQueue;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
class WorkerConfiguration {

    /**
     * The handler is the training feature's; a build or a test context without one runs no workers (an API-only
     * node), and says so.
     */
    @Bean
    WorkerPool workerPool(WorkerSettings settings, JobQueue queue, JobJournal events,
            ObjectProvider<JobHandler> handler, ServiceMeters meters) {
        JobHandler available = handler.getIfAvailable();
        if (available == null) {
            LoggerFactory.getLogger(WorkerPool.class).warn("no job handler in this build: workers are not started");
            return new WorkerPool(WorkerPool.localNodeName(), settings.withoutWorkers(), queue, events, (claim, control) -> {
                throw new IllegalStateException("no job handler");
            }, meters);
        }
        return new WorkerPool(WorkerPool.localNodeName(), settings, queue, events, available, meters);
    }
}
