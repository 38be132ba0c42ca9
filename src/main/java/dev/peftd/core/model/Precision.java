package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfType;

/**
 * Where a forward pass rounds. Activations are float32 arrays either way; in a half model they hold half values,
 * rounded by {@link HalfOps} exactly where transformers' half model computes in the half dtype, so the float32 values
 * equal the half values transformers holds at the same points up to GEMM summation order. Op by op, in a bf16/fp16
 * Llama-style model (transformers' {@code dtype=torch.bfloat16}, sdpa attention):
 *
 * <ul>
 *   <li>weights: every floating checkpoint tensor in the half type (linears, embedding, tied or untied head, norm
 *       weights, biases); no float32 copy is kept;
 *   <li>embedding: a half row lookup (exact);
 *   <li>RMSNorm: statistics and scaling in float32, rounded to half, times the half weight in half;
 *   <li>linear (q/k/v/o, gate/up/down, head): input rounded to half, one half rounding of x·Wᵀ(+b); computed as a
 *       float32 GEMM on the weight upcast 4096 rows at a time (exact products, float32 accumulation, as the half
 *       kernel does) when there are several rows, no gradient is needed and the CPU has no instructions for the half
 *       type ({@link dev.peftd.core.tensor.HalfGemm}), and as the half GEMM itself otherwise: one row (decode), an
 *       input that requires gradient (training: autograd would save every float32 upcast), a bf16 weight on a CPU
 *       with avx512_bf16, a GPU; adapters add
 *       their float32 delta to the float32 output and the next op rounds it to half on entry, as PEFT's
 *       {@code result.to(torch_result_dtype)};
 *   <li>rotary embedding: cos/sin rounded to half, {@code x·cos + rotate_half(x)·sin} in half;
 *   <li>attention: SDPA in half (causal for a whole sequence, unmasked for a decode step); a chunk after cached keys
 *       computes scores and softmax in float32 from the half q/k/v and rounds the output once; the KV cache holds the
 *       keys and values in the half type, as transformers' does ({@link PagedKvCache}: they are half values
 *       already, so nothing is lost; an adapter's float32 delta on {@code v_proj} is rounded there, as PEFT rounds an
 *       adapted layer's output to the base's dtype);
 *   <li>SwiGLU: {@code silu(gate)} and the product in half; residual adds in half;
 *   <li>logits: the half head's output as float32 (exact); log-softmax, the loss and their gradients in float32.
 * </ul>
 *
 * <p>GPT-2 the same way, with its own ops: token and position rows added in half; LayerNorm on the half type
 * (statistics in float32 inside libtorch, one rounding); Conv1D's {@code addmm(b, x, W)} as the half linear with bias
 * (one rounding of the sum); {@code gelu_new} composed op by op in half as {@code NewGELUActivation} writes it.
 *
 * <p>Autograd flows through every rounding from float32 inputs, so LoRA adapters, their gradients and AdamW's state
 * stay float32 on a half base, as PEFT keeps them ({@code autocast_adapter_dtype}).
 */
public final class Precision {

    /** Float32 throughout: every op as written, no rounding. */
    public static final Precision FLOAT32 = new Precision(null);

    private final HalfType half;

    private Precision(HalfType half) {
        this.half = half;
    }

    static Precision of(HalfType half) {
        return half == null ? FLOAT32 : new Precision(half);
    }

    /** The half type activations are rounded to, or {@code null} in float32. */
    public HalfType half() {
        return half;
    }

    /** A residual add. */
    public NDArray add(NDArray a, NDArray b) {
        return half == null ? a.add(b) : HalfOps.add(a, b, half);
    }

    /** {@code silu(gate)·up}. */
    public NDArray siluMul(NDArray gate, NDArray up) {
        return half == null ? FusedOps.silu(gate).mul(up) : HalfOps.siluMul(gate, up, half);
    }

    /** Rotary embedding of q or k {@code [B, heads, T, headDim]}. */
    public NDArray rope(NDArray x, RotaryEmbedding.Tables tables) {
        return half == null ? RotaryEmbedding.apply(x, tables) : HalfOps.rope(x, tables.cos(), tables.sin(), half);
    }

    /** Rounds a float32 result computed from half values, as the half op would have. */
    public NDArray round(NDArray x) {
        return half == null ? x : HalfOps.round(x, half);
    }
}
