/**
 * Tensors on disk and in memory: safetensors read through memory mapping ({@link dev.peftd.core.tensor.SafetensorsFile},
 * one file; {@link dev.peftd.core.tensor.SafetensorsCheckpoint}, a model directory, sharded or not) and written
 * byte-identically to Python's {@code safetensors} ({@link dev.peftd.core.tensor.SafetensorsWriter}); 16-bit floats
 * widened to float32 in Java, because a BF16 NDArray aborts the JVM.
 *
 * <p>Half precision is fenced in here: {@link dev.peftd.core.tensor.HalfTensor} is the only holder of a bfloat16 or
 * float16 tensor (its NDArray is package-private) and {@link dev.peftd.core.tensor.HalfOps} the only code that
 * touches one, through the TorchScript module {@code half-ops.pt}; everything outside sees float32, because DJL 0.36
 * aborts the JVM on BF16 (and INT16) wherever it reads the dtype.
 *
 * <p>Two helpers guard against DJL traps that corrupt training silently: {@link dev.peftd.core.tensor.ScalarConstants}
 * (never pass Java numbers to ops on a graph) and {@link dev.peftd.core.tensor.OwnedArrays} (never let autograd keep
 * a tensor whose memory is a Java buffer the GC may free).
 */
package dev.peftd.core.tensor;
