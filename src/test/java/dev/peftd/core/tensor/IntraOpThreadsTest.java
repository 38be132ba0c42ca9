package dev.peftd.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A thread's count is its own: setting it leaves the count threads that start later take up at the process default.
 * (Whether another running thread keeps its own was measured with GEMM times, see {@link IntraOpThreads}: a count
 * read back here is libgomp's per-thread setting, which is what that measurement showed to hold.)
 */
class IntraOpThreadsTest {

    private static int onNewThread(Callable<Integer> task) throws Exception {
        ExecutorService one = Executors.newSingleThreadExecutor();
        try {
            return one.submit(task).get(60, TimeUnit.SECONDS);
        } finally {
            one.shutdownNow();
        }
    }

    @Test
    void aThreadsCountLeavesEveryOtherThreadAtTheDefault() throws Exception {
        int all = IntraOpThreads.processDefault();
        int other = all == 1 ? 2 : 1;
        CompletableFuture<Void> holding = new CompletableFuture<>();
        CompletableFuture<Integer> set = new CompletableFuture<>();
        Thread setter = new Thread(() -> {
            IntraOpThreads.use(other);
            set.complete(IntraOpThreads.ofThisThread());
            holding.join(); // stays alive with its count while the others look
        });
        setter.start();
        try {
            assertThat(set.get(60, TimeUnit.SECONDS)).as("the thread that set it").isEqualTo(other);
            assertThat(onNewThread(IntraOpThreads::ofThisThread)).as("a thread started after").isEqualTo(all);
        } finally {
            holding.complete(null);
            setter.join();
        }
        assertThat(onNewThread(() -> {
            IntraOpThreads.use(other);
            IntraOpThreads.use(all);
            return IntraOpThreads.ofThisThread();
        })).as("and back").isEqualTo(all);
    }

    @Test
    void aCountBelowOneIsRefused() {
        assertThatThrownBy(() -> IntraOpThreads.use(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 1");
    }
}
