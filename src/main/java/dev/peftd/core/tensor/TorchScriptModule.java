package dev.peftd.core.tensor;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A parameterless TorchScript module on the classpath whose methods peftd calls as libtorch kernels DJL lacks
 * (djl-notes.md section 2). Thread-safe: the module has no state, and grad mode is per thread.
 */
public final class TorchScriptModule {

    private final NDManager manager = NDManager.newBaseManager("PyTorch");
    private final PtSymbolBlock module;
    private final Map<String, NDArray> markers = new ConcurrentHashMap<>();

    /** Loads {@code resource}, found next to {@code anchor}'s class file. */
    public TorchScriptModule(Class<?> anchor, String resource) {
        Engine.getEngine("PyTorch");
        try (InputStream in = anchor.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is missing from the classpath");
            }
            module = JniUtils.loadModule((PtNDManager) manager, in, false, false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load " + resource, e);
        }
    }

    /** A long-lived array in the module's own manager (constants the methods take), never owned by an NDScope. */
    public NDArray constant(long value) {
        NDArray constant = manager.create(value);
        NDScope.unregister(constant);
        return constant;
    }

    /** A long-lived empty float32 array in the module's own manager: an absent optional tensor argument. */
    public NDArray emptyConstant() {
        NDArray constant = manager.create(new float[0]);
        NDScope.unregister(constant);
        return constant;
    }

    /** Calls {@code method} under the calling thread's grad mode (the native call runs under the mode it is given). */
    public NDArray call(String method, NDArray... inputs) {
        return call(method, JniUtils.isGradMode(), inputs);
    }

    /** Calls {@code method} with autograd on or off, whatever the thread's grad mode. */
    public NDArray call(String method, boolean train, NDArray... inputs) {
        return callAll(method, train, inputs).singletonOrThrow();
    }

    /** {@link #callAll(String, boolean, NDArray...)} under the calling thread's grad mode. */
    public NDList callAll(String method, NDArray... inputs) {
        return callAll(method, JniUtils.isGradMode(), inputs);
    }

    /**
     * For a method that returns a tuple of tensors: every output, in order. Outputs belong to the first input's
     * manager (DJL's rule), and join the caller's {@link NDScope} if one is open.
     */
    public NDList callAll(String method, boolean train, NDArray... inputs) {
        NDList list = new NDList(inputs);
        list.add(marker(method));
        return IValueUtils.forward(module, list, train);
    }

    /** DJL picks a TorchScript method by an input array named {@code module_method:NAME}; its data is unused. */
    private NDArray marker(String method) {
        return markers.computeIfAbsent(method, m -> {
            NDArray marker = manager.create(0f);
            NDScope.unregister(marker);
            marker.setName("module_method:" + m);
            return marker;
        });
    }
}
