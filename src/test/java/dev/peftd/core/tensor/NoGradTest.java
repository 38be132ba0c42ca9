package dev.peftd.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** NoGrad switches autograd off for its block and gives back the mode the thread had, on or off, also on a throw. */
class NoGradTest {

    @Test
    void restoresGradModeOnAfterTheBlock() throws Exception {
        runOnNewThread(() -> {
            JniUtils.setGradMode(true);
            try (NoGrad ignored = NoGrad.enter()) {
                assertThat(JniUtils.isGradMode()).isFalse();
            }
            assertThat(JniUtils.isGradMode()).isTrue();
        });
    }

    @Test
    void leavesGradModeOffWhenItWasOffAndNestsAndRestoresOnAThrow() throws Exception {
        runOnNewThread(() -> {
            JniUtils.setGradMode(false);
            try (NoGrad outer = NoGrad.enter()) {
                try (NoGrad inner = NoGrad.enter()) {
                    assertThat(JniUtils.isGradMode()).isFalse();
                }
                assertThat(JniUtils.isGradMode()).isFalse();
            }
            assertThat(JniUtils.isGradMode()).isFalse();
            JniUtils.setGradMode(true);
            try (NoGrad ignored = NoGrad.enter()) {
                throw new IllegalStateException("boom");
            } catch (IllegalStateException expected) {
                assertThat(JniUtils.isGradMode()).isTrue();
            }
        });
    }

    /** Grad mode is thread-local: a fresh thread keeps this test from seeing (or leaving) another test's mode. */
    private static void runOnNewThread(Runnable body) throws Exception {
        Engine.getInstance();
        AtomicBoolean done = new AtomicBoolean();
        Throwable[] failure = new Throwable[1];
        Thread thread = new Thread(() -> {
            try {
                body.run();
                done.set(true);
            } catch (Throwable t) {
                failure[0] = t;
            }
        });
        thread.start();
        thread.join();
        if (failure[0] != null) {
            throw new AssertionError(failure[0]);
        }
        assertThat(done).isTrue();
    }
}
