package dev.peftd.core.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.util.EnumMap;
import java.util.Map;

/**
 * Every operation peftd performs on a {@link HalfTensor}, each one call into {@code half-ops.pt}
 * (tools/reference/make_half_ops.py), which is where the half tensors are made, read and computed with.
 *
 * <p>The fence: activations go in and come out as float32 NDArrays holding values exactly representable in the half
 * type, so no half NDArray ever reaches DJL's Java API, where reading its dtype (to allocate a like-typed result, a
 * scalar operand, a gradient seed or a Java array) hits the missing BF16 case and aborts the JVM (djl-notes.md
 * pitfall 2). Each method rounds where transformers' code computes in the half dtype, so the float32 values are
 * the half values transformers holds at the same point. Autograd flows through the casts: adapters, the loss and
 * gradients stay float32, the frozen half weights take none.
 *
 * <p>Thread-safe: the module has no state, and grad mode is per thread.
 */
public final class HalfOps {

    private static final String RESOURCE = "half-ops.pt";

    private HalfOps() {
    }

    /** The name that marks a stack of weights whose rows are views ({@link #stackOfRows}). */
    private static final String STACK_OF_ROWS = "peftd:stack-of-rows";

    /**
     * Bytes an array's storage holds, a bfloat16 one included (DJL maps libtorch's BF16 to {@code UNKNOWN}, whose
     * size it gives as 0, and the only such arrays peftd makes are bf16 tensors: reading the type is safe; only
     * allocating by it aborts), except 0 for a {@link #stackOfRows stack of rows}: its views ({@link #rows}) are the
     * arrays that count its bytes, once.
     */
    public static long storageBytes(NDArray array) {
        if (STACK_OF_ROWS.equals(array.getName())) {
            return 0;
        }
        ai.djl.ndarray.types.DataType type = array.getDataType();
        int bytes = type == ai.djl.ndarray.types.DataType.UNKNOWN ? 2 : type.getNumOfBytes();
        return array.getShape().size() * bytes;
    }

    /** Loaded on first use; the module, its type codes and dtype carriers live for the JVM's lifetime. */
    private static final class Module {
        private static final TorchScriptModule OPS = new TorchScriptModule(HalfOps.class, RESOURCE);
        private static final Map<HalfType, NDArray> CODES = new EnumMap<>(HalfType.class);
        private static final Map<HalfType, NDArray> CARRIERS = new EnumMap<>(HalfType.class);
        private static final NDArray ZERO = OPS.constant(0);
        private static final NDArray ONE = OPS.constant(1);
        private static final NDArray NO_BIAS = OPS.emptyConstant();

        static {
            for (HalfType type : HalfType.values()) {
                NDArray code = OPS.constant(type.code()); // int64 0-d
                CODES.put(type, code);
                try (NDArray zero = OPS.constant(0)) {
                    // a 0-d half tensor whose only use is to carry its dtype into the ops ("like")
                    NDArray carrier = OPS.call("cast", false, zero, code);
                    NDScope.unregister(carrier);
                    CARRIERS.put(type, carrier);
                }
            }
        }
    }

    private static NDArray call(String method, NDArray... inputs) {
        return Module.OPS.call(method, inputs);
    }

    /**
     * For methods that make a tensor that outlives the call (a weight). Always with autograd on: under DJL's
     * {@code isTrain=false} the call runs in libtorch's inference mode, whose tensors autograd later refuses to save
     * for backward ("Inference tensors cannot be saved for backward"), so a weight made that way could never be
     * trained through. The methods take no gradient anyway (none of their inputs requires one).
     */
    private static NDArray make(String method, NDArray... inputs) {
        return Module.OPS.call(method, true, inputs);
    }

    private static NDArray like(HalfType type) {
        return Module.CARRIERS.get(type);
    }

    // ---- making and unmaking half tensors (load and export time) ----

    /**
     * Builds a half tensor of {@code shape} from float32 chunks, in order, without ever holding the whole tensor in
     * float32: the half tensor is allocated inside the module, each chunk is rounded into its slice there. This is
     * the only way in: DJL cannot allocate BF16 (nor INT16, to reinterpret raw bits), and TorchScript cannot
     * reinterpret bits either (it compiles {@code x.view(torch.bfloat16)} to {@code view([15])}, a shape).
     */
    static final class Builder {
        private final NDManager manager;
        private final Shape shape;
        private final HalfType type;
        private NDArray flat;
        private long filled;

        Builder(NDManager manager, Shape shape, HalfType type) {
            this.manager = manager;
            this.shape = shape;
            this.type = type;
            try (NDArray n = manager.create(shape.size())) {
                flat = make("empty", n, Module.CODES.get(type));
                NDScope.unregister(flat);
            }
        }

        /** Rounds the next {@code chunk.size()} elements (float32, any shape, read in row-major order) in. */
        void append(NDArray chunk) {
            if (filled + chunk.size() > shape.size()) {
                throw new IllegalArgumentException("chunks exceed the tensor's " + shape.size() + " elements");
            }
            try (NDArray start = manager.create(filled); NDArray ignored = make("fill_", flat, start, chunk)) {
                filled += chunk.size();
            }
        }

        /** The finished tensor; every element must have been appended. */
        HalfTensor build() {
            if (filled != shape.size()) {
                throw new IllegalStateException(filled + " of " + shape.size() + " elements appended");
            }
            return shaped();
        }

        /** The tensor with what was appended first and the elements past it left uninitialised ({@link #storage}). */
        HalfTensor buildLeavingTheRestUninitialised() {
            return shaped();
        }

        private HalfTensor shaped() {
            try (NDArray dims = manager.create(shape.getShape())) {
                NDArray shaped = make("reshape", flat, dims);
                NDScope.unregister(shaped);
                flat.close();
                return new HalfTensor(shaped, type);
            }
        }
    }

    /**
     * Rounds a float32 (or float16 / bfloat16-holding) array to {@code type}, to nearest even as torch's
     * {@code .to()}: the one way to make a half tensor from float data, since {@code toType(BFLOAT16)} aborts.
     */
    public static HalfTensor cast(NDArray x, HalfType type) {
        NDArray half = make("cast", x, Module.CODES.get(type));
        NDScope.unregister(half);
        return new HalfTensor(half, type);
    }

    /** Converts between the half types (a bf16 checkpoint asked for as float16): one rounding, as torch's. */
    public static HalfTensor convert(HalfTensor w, HalfType type) {
        return w.type() == type ? w : cast(w.array(), type);
    }

    /** Marks {@code stack} as weights stacked for views of its rows ({@link #rows}), which {@link #storageBytes} counts. */
    static HalfTensor stackOfRows(HalfTensor stack) {
        stack.array().setName(STACK_OF_ROWS);
        return stack;
    }

    /**
     * Rows {@code [from, from + count)} of {@code w} along its first axis: a view sharing {@code w}'s storage (writes
     * through either show in both), owned by {@code w}'s manager, out of any scope. How linears loaded stacked
     * ({@link SafetensorsCheckpoint#loadHalfRows}) each get their own weight.
     */
    public static HalfTensor rows(HalfTensor w, long from, long count) {
        try (NDArray start = Module.OPS.constant(from); NDArray length = Module.OPS.constant(count)) {
            NDArray view = make("rows", w.array(), start, length);
            NDScope.unregister(view);
            view.attach(w.array().getManager());
            return new HalfTensor(view, w.type());
        }
    }

    /** float32 copy, exact; the caller owns it. For merging, analysis and export, never for the forward pass. */
    public static NDArray widen(HalfTensor w) {
        return call("widen", w.array());
    }

    // ---- compute: float32 in, float32 out, rounded as the half type ----

    /** {@code x} rounded to {@code type} and back: the rounding of a half op's output. */
    public static NDArray round(NDArray x, HalfType type) {
        return call("round", x, like(type));
    }

    /**
     * {@link #round} for an array that outlives the call and may later be saved for backward (a frozen adapter
     * tensor on a half base): made with autograd on, as the weights are ({@link #make}), and out of any NDScope.
     */
    public static NDArray roundToKeep(NDArray x, HalfType type) {
        NDArray rounded = make("round", x, like(type));
        NDScope.unregister(rounded);
        return rounded;
    }

    /**
     * {@code x·Wᵀ (+ b)} as transformers' half {@code nn.Linear}: x rounded to the half type, one rounding of the
     * result. One row (a decode step) or an input that requires gradient (training, where autograd would keep every
     * upcast weight for backward): the half GEMM itself. Several rows without gradient: the GEMM {@link HalfGemm}
     * picks for the device, the half one where the device computes the half type natively, else a float32 GEMM on the
     * weight upcast for this call only, 4096 rows at a time (exact products, float32 accumulation: the same values up
     * to summation order), because without avx512_bf16 the half GEMM is 2–8× slower. For one row the half GEMV is the
     * faster one even there: a SmolLM2-135M decode step's linears took 72 ms in bfloat16, 299 ms upcast 4096 rows at a
     * time, 92 ms in float32 (2 threads, AVX2; bandwidth-bound, and the upcast writes and rereads a float32 copy) —
     * provided OpenMP threads wait passively ({@link OpenMpWaitPolicy}: spinning, it was 2,742 ms).
     *
     * @param x    float32 {@code [..., in]}
     * @param bias half {@code [out]} or {@code null}
     * @return float32 {@code [..., out]}
     */
    public static NDArray linear(NDArray x, HalfTensor weight, HalfTensor bias) {
        return linear(x, weight, bias, HalfGemm.on(x.getDevice(), weight.type()));
    }

    /** {@link #linear} with the several-rows GEMM given: how a test compares the two on any machine. */
    static NDArray linear(NDArray x, HalfTensor weight, HalfTensor bias, HalfGemm gemm) {
        String method = (bias == null ? "linear" : "linear_bias") + suffix(gemm);
        return bias == null ? call(method, x, weight.array()) : call(method, x, weight.array(), bias.array());
    }

    /**
     * The gradient of {@link #linear}'s input from its output's gradient, without autograd, rounded where autograd
     * through the half linear rounds: {@code g} to the half type (the backward of the output's float32 cast), the
     * product {@code g·W} once (the half GEMM's output). Several rows: the GEMM {@link HalfGemm} picks; upcast, float32
     * products on the weight upcast 4,096 rows at a time and {@code g} rounded a block at a time (the same values up
     * to summation order; on an AVX2 CPU the half GEMM of a {@code [n, vocab]·[vocab, hidden]} head backward ran about
     * 10× slower).
     *
     * @param g float32 {@code [..., out]}
     * @return float32 {@code [..., in]}
     */
    public static NDArray linearInputGradient(NDArray g, HalfTensor weight) {
        return linearInputGradient(g, weight, HalfGemm.on(g.getDevice(), weight.type()));
    }

    /** {@link #linearInputGradient} with the several-rows GEMM given. */
    static NDArray linearInputGradient(NDArray g, HalfTensor weight, HalfGemm gemm) {
        return call("linear_input_grad" + suffix(gemm), g, weight.array());
    }

    /** half-ops.pt names the native-GEMM variant of a linear method with this suffix. */
    private static String suffix(HalfGemm gemm) {
        return gemm == HalfGemm.NATIVE ? "_native" : "";
    }

    /** @param ids int64 {@code [B, T]} → float32 {@code [B, T, hidden]}, rows of the half table, exact */
    public static NDArray embedding(NDArray ids, HalfTensor table) {
        return call("embedding", ids, table.array());
    }

    /**
     * {@code LlamaRMSNorm} in a half model: variance and scaling in float32, rounded to the half type, times the half
     * weight (rounded again).
     *
     * @param eps 0-d float32 (a cached constant: djl-notes.md pitfall 1)
     */
    public static NDArray rmsNorm(NDArray x, HalfTensor weight, NDArray eps) {
        return call("rms_norm", x, weight.array(), eps);
    }

    /** {@code nn.LayerNorm} on the half type (torch computes in float32 inside and rounds once). */
    public static NDArray layerNorm(NDArray x, HalfTensor weight, HalfTensor bias, NDArray eps) {
        return call("layer_norm", x, weight.array(), bias.array(), eps);
    }

    /**
     * {@code apply_rotary_pos_emb} for one of q or k: cos/sin rounded to the half type, then
     * {@code x·cos + rotate_half(x)·sin} with each op rounded.
     *
     * @param x   {@code [B, heads, T, headDim]}
     * @param cos float32 {@code [T, headDim]}
     */
    public static NDArray rope(NDArray x, NDArray cos, NDArray sin, HalfType type) {
        return call("rope", x, cos, sin, like(type));
    }

    /** {@code silu(gate) · up} of a SwiGLU MLP, both ops in the half type. */
    public static NDArray siluMul(NDArray gate, NDArray up, HalfType type) {
        return call("silu_mul", gate, up, like(type));
    }

    /**
     * GPT-2's {@code gelu_new} ({@code NewGELUActivation}) in the half type, composed op by op as transformers writes
     * it, {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}, each op rounded as the half tensors are.
     */
    public static NDArray geluNew(NDArray x, HalfType type) {
        return call("gelu_new", x, like(type));
    }

    /** {@code gelu_pytorch_tanh} ({@code GELUTanh}): libtorch's tanh-approximate GELU on the half type, one rounding. */
    public static NDArray geluTanh(NDArray x, HalfType type) {
        return call("gelu_tanh", x, like(type));
    }

    /** {@code gelu}: libtorch's erf GELU on the half type, one rounding. */
    public static NDArray gelu(NDArray x, HalfType type) {
        return call("gelu", x, like(type));
    }

    /** A residual add in the half type. */
    public static NDArray add(NDArray a, NDArray b, HalfType type) {
        return call("add", a, b, like(type));
    }

    /** Causal SDPA in the half type, q/k/v {@code [B, H, T, D]} (KV heads already repeated). */
    public static NDArray causalAttention(NDArray q, NDArray k, NDArray v, HalfType type) {
        return call("causal_attention", q, k, v, like(type));
    }

    /** SDPA without a mask in the half type: a decode step, whose one query sees every cached key. */
    public static NDArray attention(NDArray q, NDArray k, NDArray v, HalfType type) {
        return call("attention", q, k, v, like(type));
    }

    // ---- a Llama-style block without adapters, in two calls ----

    /** A half linear's weight {@code [out, in]} and bias {@code [out]} ({@code null}: none), as a fused block takes it. */
    public record Linear(HalfTensor weight, HalfTensor bias) {
    }

    /**
     * A Llama-style block's (Llama, Mistral, Qwen2) half weights, for {@link #attentionInput} and
     * {@link #attentionOutput}: its norms and linears, those that share an input stacked
     * ({@link SafetensorsCheckpoint#loadHalfRows}), so that each stack runs as one product.
     *
     * @param qkv    q, k and v stacked: {@code [(heads + 2·kvHeads)·headDim, hidden]}
     * @param gateUp gate and up stacked: {@code [2·intermediate, hidden]}
     * @param eps    0-d float32 (a cached constant: djl-notes.md pitfall 1)
     * @param dims   int64 {@code [heads, kvHeads, headDim]}
     */
    public record LlamaBlock(HalfTensor inputNorm, Linear qkv, Linear o, HalfTensor postAttentionNorm, Linear gateUp,
            Linear down, NDArray eps, NDArray dims) {
    }

    /**
     * The block's ops before the attention, {@link #rmsNorm}, the q/k/v {@link #linear}s (one product over their
     * stacked weights), the heads split and {@link #rope} on q and k, in one call that runs the same module methods
     * in the same order: the same values bit for bit, without a native call per op (a decode step's ops are tiny; its
     * time went to the calls). For inference: backward through a stacked product would round the input's gradient
     * differently from separate linears.
     *
     * @param h   float32 {@code [B, T, hidden]}
     * @param cos float32 {@code [T, headDim]} or {@code [B, 1, T, headDim]}, as {@code sin}
     * @return float32 q {@code [B, heads, T, headDim]}, k and v {@code [B, kvHeads, T, headDim]}
     */
    public static NDList attentionInput(NDArray h, LlamaBlock block, NDArray cos, NDArray sin) {
        return Module.OPS.callAll("llama_attention_input", h, block.inputNorm().array(), block.eps(),
                block.qkv().weight().array(), bias(block.qkv()), cos, sin, block.dims(), gemmCode(h, block.qkv()));
    }

    /**
     * The block's ops after the attention, in one call as {@link #attentionInput}: {@code h + o(context)}, then
     * {@code h + down(silu(gate(x))·up(x))} on {@code x = rmsNorm(h)}, each op rounded as the op-by-op path rounds.
     *
     * @param h       float32 {@code [B, T, hidden]}, the block's input
     * @param context float32 {@code [B, T, heads·headDim]}
     * @return float32 {@code [B, T, hidden]}
     */
    public static NDArray attentionOutput(NDArray h, NDArray context, LlamaBlock block) {
        return call("llama_attention_output", h, context, block.o().weight().array(), bias(block.o()),
                block.postAttentionNorm().array(), block.eps(), block.gateUp().weight().array(), bias(block.gateUp()),
                block.down().weight().array(), bias(block.down()), gemmCode(h, block.o()));
    }

    /**
     * {@link #attentionInput} with each row's own low-rank delta added to the q/k/v product's float32 output,
     * {@code (x·right)·left}, before the heads are split: an adapted block in the same one call.
     *
     * @param right float32 {@code [B, hidden, K]}
     * @param left  float32 {@code [B, K, (heads + 2·kvHeads)·headDim]}, block-diagonal over q, k and v
     */
    public static NDList attentionInput(NDArray h, LlamaBlock block, NDArray cos, NDArray sin, NDArray right,
            NDArray left) {
        return Module.OPS.callAll("llama_attention_input_low_rank", h, block.inputNorm().array(), block.eps(),
                block.qkv().weight().array(), bias(block.qkv()), cos, sin, block.dims(), gemmCode(h, block.qkv()),
                right, left);
    }

    /**
     * {@link #attentionOutput} with each row's own low-rank delta added to each product's float32 output:
     * {@code deltas} holds {right [B, in, K], left [B, K, out]} for o, for gate/up stacked (block-diagonal) and for
     * down, six float32 arrays in that order.
     */
    public static NDArray attentionOutput(NDArray h, NDArray context, LlamaBlock block, NDArray... deltas) {
        if (deltas.length != 6) {
            throw new IllegalArgumentException("o, gate/up and down take a right and a left factor each, got "
                    + deltas.length + " arrays");
        }
        return call("llama_attention_output_low_rank", h, context, block.o().weight().array(), bias(block.o()),
                block.postAttentionNorm().array(), block.eps(), block.gateUp().weight().array(), bias(block.gateUp()),
                block.down().weight().array(), bias(block.down()), gemmCode(h, block.o()), deltas[0], deltas[1],
                deltas[2], deltas[3], deltas[4], deltas[5]);
    }

    /** The absent-bias marker the block methods take: an empty float32 tensor. */
    private static NDArray bias(Linear linear) {
        return linear.bias() == null ? Module.NO_BIAS : linear.bias().array();
    }

    /** 1 where {@link HalfGemm} picks the native GEMM for the block's weights on {@code x}'s device, else 0. */
    private static NDArray gemmCode(NDArray x, Linear linear) {
        return HalfGemm.on(x.getDevice(), linear.weight().type()) == HalfGemm.NATIVE ? Module.ONE : Module.ZERO;
    }

    // ---- the KV cache of a half model: keys and values stored in the half type, read back widened ----

    /**
     * A half tensor of {@code shape} whose first {@code zeroRows} rows are zeros and the rest uninitialised, on
     * {@code manager}'s device, owned by {@code manager} and out of any NDScope: a paged KV cache's storage. Its
     * padding block is read (under a mask) before anything may have been written to it, and uninitialised half bits
     * can be NaN, which a mask does not hide, so those rows are zeros; every other row is written before it is read,
     * as a reused block's stale rows are. Zero-filling all of it took 1.4 s and made the whole cache resident at once
     * (512 MB by default); left uninitialised, pages become resident as blocks are used.
     */
    public static HalfTensor storage(NDManager manager, Shape shape, long zeroRows, HalfType type) {
        // made with autograd on, as a weight (make): a normal tensor, which inference-mode writes may update in place
        Builder builder = new Builder(manager, shape, type);
        try (NDArray zeros = manager.zeros(new Shape(zeroRows * (shape.size() / shape.get(0))))) { // [zeroRows·width]
            builder.append(zeros);
        }
        return builder.buildLeavingTheRestUninitialised();
    }

    /**
     * Rounds {@code k} and {@code v} into rows {@code rows} of the half pages, in place ({@code index_copy_}, no
     * autograd). Lossless for a half model's keys and values, which hold half values already.
     *
     * @param keyPages half {@code [N, H·D]}, as {@code valuePages}
     * @param rows     int64 {@code [B·T]}: the page row of each new position, row-major over {@code [B, T]}
     * @param k        float32 {@code [B, H, T, D]}, as {@code v}
     */
    public static void writeRows(HalfTensor keyPages, HalfTensor valuePages, NDArray rows, NDArray k, NDArray v) {
        try (NDArray ignored = call("kv_write", k, v, keyPages.array(), valuePages.array(), rows)) {
            // the method returns `rows` (a second handle on it) only because a TorchScript method must return something
        }
    }

    /**
     * {@link #writeRows}, then reads rows {@code read} back widened to float32 (exactly), in one call.
     *
     * @param read int64 {@code [B·S]}: the page row of each attended position, row-major over {@code [B, S]}
     * @return float32 keys and values {@code [B, H, S, D]} each (transposed views of {@code [B, S, H, D]} arrays, the
     *         layout a float32 page gather gives), in {@code k}'s manager and the caller's scope
     */
    public static NDList exchangeRows(HalfTensor keyPages, HalfTensor valuePages, NDArray rows, NDArray read, NDArray k,
            NDArray v) {
        return Module.OPS.callAll("kv_exchange", k, v, keyPages.array(), valuePages.array(), rows, read);
    }

    /**
     * A sequence batch's half cache after one more call: the cached keys and values with this call's appended along
     * the positions, kept in the half type, and the same widened to float32 for the attention.
     *
     * @param keys    half {@code [B, H, S, D]} (owned by the cache's manager)
     * @param allKeys float32 {@code [B, H, S, D]}, in the caller's scope
     */
    public record Appended(HalfTensor keys, HalfTensor values, NDArray allKeys, NDArray allValues) {
    }

    /**
     * @param keys  the half keys cached so far {@code [B, H, S0, D]}, or {@code null} before the first call (then
     *              {@code type} is the cache's type)
     * @param k     float32 {@code [B, H, T, D]}, as {@code v}
     * @param owner takes the new half tensors (out of any scope); the caller closes the previous ones
     */
    public static Appended append(HalfTensor keys, HalfTensor values, NDArray k, NDArray v, HalfType type,
            NDManager owner) {
        NDList out = Module.OPS.callAll("kv_append", k, v, cachedOrType(keys, type), cachedOrType(values, type)); // in k's manager
        return new Appended(kept(out.get(0), type, owner), kept(out.get(1), type, owner), out.get(2), out.get(3));
    }

    /**
     * A sequence batch's cache after a decode step, and the step's attention.
     *
     * @param keys    half {@code [B, kvHeads, S, D]} (owned by the cache's manager)
     * @param context float32 {@code [B, heads, 1, D]}, in the caller's scope
     */
    public record Attended(HalfTensor keys, HalfTensor values, NDArray context) {
    }

    /**
     * {@link #append} and then {@link #attention} of a one-query step on the result, in one call and on the half
     * keys and values themselves (repeated per query group in the half type), never widened: the same inputs reach
     * the same SDPA kernel as through {@code attention(q, repeat(allKeys), repeat(allValues))}, so the same result.
     *
     * @param q float32 {@code [B, heads, 1, D]}
     * @param k float32 {@code [B, kvHeads, 1, D]}, as {@code v}
     */
    public static Attended appendAndAttend(HalfTensor keys, HalfTensor values, NDArray q, NDArray k, NDArray v,
            HalfType type, NDManager owner) {
        NDList out = Module.OPS.callAll("kv_append_attention", q, k, v, cachedOrType(keys, type),
                cachedOrType(values, type)); // in q's manager
        return new Attended(kept(out.get(0), type, owner), kept(out.get(1), type, owner), out.get(2));
    }

    /** The cached half tensor, or before the first call the dtype carrier (kv_append's "nothing cached yet"). */
    private static NDArray cachedOrType(HalfTensor cached, HalfType type) {
        return cached == null ? like(type) : cached.array();
    }

    private static HalfTensor kept(NDArray half, HalfType type, NDManager owner) {
        NDScope.unregister(half);
        half.attach(owner);
        return new HalfTensor(half, type);
    }
}
