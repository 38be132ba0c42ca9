package dev.peftd.core.tensor;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Autograd off on this thread for one block, then back to what it was:
 * {@code try (NoGrad ignored = NoGrad.enter()) { … }}. Grad mode is thread-local in libtorch and a new thread starts
 * with it on (djl-notes, pitfall 4), so every inference, merge, import and optimizer step switches it off itself;
 * restoring the previous mode (rather than switching it on) keeps a caller that already had it off unaffected.
 */
public final class NoGrad implements AutoCloseable {

    private final boolean before;

    private NoGrad(boolean before) {
        this.before = before;
    }

    public static NoGrad enter() {
        Engine.getInstance(); // JniUtils throws UnsatisfiedLinkError until the engine is loaded
        NoGrad scope = new NoGrad(JniUtils.isGradMode());
        JniUtils.setGradMode(false);
        return scope;
    }

    @Override
    public void close() {
        JniUtils.setGradMode(before);
    }
}
