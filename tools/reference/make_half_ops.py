"""Writes src/main/resources/dev/peftd/core/tensor/half-ops.pt: the TorchScript module through which peftd holds and
computes with bfloat16 / float16 tensors, which DJL 0.36's NDArray API cannot create, cast to or read (djl-notes.md
pitfall 2: it aborts the JVM). Only dev.peftd.core.tensor.HalfOps calls it.

    /work/refvenv/bin/python tools/reference/make_half_ops.py

Contract of every method: half tensors ("w", "like") come from this module; activations go in and come out as
float32 holding values exactly representable in the half type (so Java never sees a half NDArray), and each
method rounds exactly where transformers' model code computes in the half dtype (dtype=torch.bfloat16). The dtype
is carried by a half tensor argument, never by a DJL DataType. `code` tensors are int64 scalars: 0 = bfloat16,
1 = float16.

  empty(n, code)          an uninitialised 1-d half tensor of n elements on n's device (n: int64 0-d)
  fill_(w, start, chunk)  w[start : start+len(chunk)] = chunk, rounding a float32 chunk into the half tensor in place
                          (start: int64 0-d); returns start. How a checkpoint tensor becomes a half tensor without a
                          float32 copy of it: no bit reinterpretation is possible here, because DJL 0.36 aborts on
                          INT16 as on BFLOAT16, and TorchScript compiles x.view(torch.bfloat16) to view([15]), a shape
  reshape(w, shape)       w.reshape(shape), shape an int64 1-d tensor
  rows(w, start, count)   w.narrow(0, start, count): a view of rows of a stacked weight (start, count: int64 0-d)
  cast(x, code)           any float tensor -> bf16/fp16 (round to nearest even, as torch's .to())
  widen(w)                half -> float32, exact
  round(x, like)          float32 -> like.dtype -> float32: the rounding a half op's output gets
  linear(x, w)            F.linear in like-the-weight precision, float32 out. Rows > 1: the weight is upcast per call
  linear_bias(x, w, b)    and the GEMM runs in float32 on exactly-representable inputs (products of two bf16/fp16
                          numbers are exact in float32, the accumulation is float32 either way, the result is rounded
                          once), because on CPUs without avx512_bf16 the half GEMM is 2-8x slower; one row (decode)
                          uses the half GEMM directly. Same result as transformers up to accumulation order. The
                          weight is upcast 4096 output rows at a time (a 49152-row head never exists in float32).
                          When x requires grad (training) the half GEMM runs instead: autograd would otherwise save
                          every layer's float32 upcast for backward, i.e. a float32 copy of the whole model.
  linear_native(x, w)     F.linear in the half dtype whatever the rows: what the linears above become on a device
  linear_bias_native(x, w, b)  that computes the half type natively (a GPU; a CPU with avx512_bf16 or amx_bf16 for
                          bfloat16), where the half GEMM is faster than the upcast one and needs no float32 block
  linear_input_grad_native(g, w)  linear_input_grad's value by the half GEMM itself (g rounded, times w, rounded)
  linear_input_grad(g, w) the gradient autograd gives linear(x, w)'s input from its float32 output's gradient g:
                          g rounded to w's dtype (the backward of .float()), times w, rounded once (the half GEMM's
                          output). No autograd. Rows > 1: float32 products on w upcast 4096 rows at a time, summed in
                          float32 (the same result up to summation order; the half GEMM of this shape, [n, vocab] times
                          the [vocab, hidden] head, ran ~10x slower than the upcast one here); g is rounded a block
                          at a time, never copied whole. For a frozen half output head, whose [n, vocab] logits
                          gradient then never enters autograd.
  embedding(ids, w)       F.embedding, float32 out (exact)
  rms_norm(x, w, eps)     LlamaRMSNorm: float32 variance and scaling, cast to the half dtype, times the half weight
  layer_norm(x, w, b, eps) nn.LayerNorm in the half dtype (torch computes it in float32 inside and rounds once)
  rope(x, cos, sin, like) apply_rotary_pos_emb: cos/sin cast to the half dtype, x*cos + rotate_half(x)*sin in it
  silu_mul(g, u, like)    act_fn(gate) * up in the half dtype (each op rounds)
  gelu_new(x, like)       GPT-2's NewGELUActivation, 0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x^3))), composed in the half
                          dtype exactly as transformers writes it (each of its eight ops rounds)
  gelu_tanh(x, like)      GELUTanh (gelu_pytorch_tanh): F.gelu(approximate="tanh") in the half dtype, one rounding
  gelu(x, like)           F.gelu (erf form) in the half dtype
  add(a, b, like)         a residual add in the half dtype
  causal_attention(q, k, v, like)  SDPA(is_causal=True) in the half dtype, as transformers' sdpa attention
  attention(q, k, v, like)         SDPA without a mask (a decode step: one query sees every cached key)

A Llama-style block (Llama, Mistral, Qwen2) without adapters, in two calls instead of one per op: the same methods
as above, called in the same order inside the module, so the same values bit for bit, without a native call (and a
float32 round trip of the activations through Java) per op. A decode step's ops are tiny and its time goes to the
calls. `native` is an int64 0-d: 1 = the linears' *_native variants, 0 = the plain ones (Java's HalfGemm choice);
a bias that does not exist is an empty float32 tensor; `dims` is int64 [heads, kv_heads, head_dim]. The linears
that share an input come stacked (the checkpoint's weights loaded into one tensor, each layer's own weight a view of
its rows), so they run as one product: q/k/v as wqkv [(heads + 2*kv_heads)*D, hidden], gate/up as wgu
[2*intermediate, hidden]. A product's elements are the same dot products whatever other rows it has (bit for bit, as
HalfFusedBlockTest checks), and one larger product is faster than several small ones.
  llama_attention_input(h, norm, eps, wqkv, bqkv, cos, sin, dims, native)  the block's first half up to the
                          attention: rms_norm, the q/k/v linears, heads split ([B, T, n*D] -> [B, n, T, D]) and
                          rope on q and k: (q, k, v) float32 [B, heads, T, D], [B, kv_heads, T, D] x2
  llama_attention_output(h, context, wo, bo, norm, eps, wgu, bgu, wd, bd, native)  the rest after the attention's
                          context [B, T, heads*D]: h + o(context), then h + down(silu(gate(x)) * up(x)) on
                          x = rms_norm(h): float32 [B, T, hidden]
  llama_attention_input_low_rank(..., qkv_right, qkv_left)  llama_attention_output_low_rank(..., o_right, o_left,
                          gu_right, gu_left, d_right, d_left)  the same with each row's own low-rank delta added to
                          each stacked product's float32 output, (x @ right) @ left, as the op-by-op path adds it
                          (peftd's GroupedHook): right [B, in, K] and left [B, K, out] float32 per product, q/k/v's
                          and gate/up's block-diagonal over their modules (SiblingFactors), so each row gets its own
                          adapter's delta and an adapted half block still runs as two calls

KV cache of a half model (its k/v projection and rope outputs are half values already, so storing them in the half
dtype loses nothing; reads give them back widened, exactly):
  zeros(shape, code)      a half tensor of zeros on shape's device (shape: int64 1-d): a paged cache's storage
  kv_write(k, v, kp, vp, rows)  k, v float32 [B, H, T, D] rounded into rows `rows` (int64 [B*T]) of the pages
                          kp, vp (half [N, H*D]) in place (index_copy_, no autograd); returns rows
  kv_exchange(k, v, kp, vp, rows, read)  kv_write, then the rows `read` (int64 [B*S]) of the pages widened to
                          float32 (index_select), as (keys, values) [B, H, S, D] each
  kv_append(k, v, kc, vc) a sequence batch's cache: (kc ++ k, vc ++ v) along the positions, in the half dtype, and
                          the same widened to float32: (keys, values, keys32, values32); kc, vc are half
                          [B, H, S0, D], or the 0-d dtype carrier before anything is cached
  kv_append_attention(q, k, v, kc, vc)  a decode step (one query per row) of a sequence batch's cache: kv_append's
                          half (keys, values), then SDPA without a mask in the half dtype on them (each KV head
                          repeated for its q heads, as repeat_kv), all in one call and without widening the cache:
                          (keys, values, context float32 [B, Hq, 1, D]). The same SDPA inputs, so the same result, as
                          attention(q, repeat(widen(keys)), repeat(widen(values)), like)

Autograd flows through every method from float32 inputs (the half casts are differentiable), so adapters and the
loss stay float32 while the frozen half weights take no gradient.
The archive holds TorchScript source only; saved by torch 2.13, it loads in DJL's libtorch 2.7.1.
"""
import math
import pathlib
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F

OUT = pathlib.Path(__file__).resolve().parents[2] / "src/main/resources/dev/peftd/core/tensor/half-ops.pt"


def half_type(code: torch.Tensor) -> torch.dtype:
    return torch.bfloat16 if int(code.item()) == 0 else torch.float16


class HalfOps(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @torch.jit.export
    def empty(self, n: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        # on n's device: a model loaded onto a GPU gets its half weights there, not on the CPU
        return torch.empty([int(n.item())], dtype=half_type(code), device=n.device)

    @torch.jit.export
    def fill_(self, w: torch.Tensor, start: torch.Tensor, chunk: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            w.narrow(0, int(start.item()), chunk.numel()).copy_(chunk.reshape(-1))
        return start

    @torch.jit.export
    def reshape(self, w: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
        dims: List[int] = shape.tolist()
        return w.reshape(dims)

    @torch.jit.export
    def rows(self, w: torch.Tensor, start: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        return w.narrow(0, int(start.item()), int(count.item()))

    @torch.jit.export
    def cast(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return x.to(half_type(code))

    @torch.jit.export
    def widen(self, w: torch.Tensor) -> torch.Tensor:
        return w.float()

    @torch.jit.export
    def round(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return x.to(like.dtype).float()

    @torch.jit.export
    def linear(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        xh = x.to(w.dtype)
        if xh.numel() == xh.shape[-1] or (torch.is_grad_enabled() and x.requires_grad):
            return F.linear(xh, w).float()
        return self._upcast_linear(xh.float(), w, torch.zeros(0))

    @torch.jit.export
    def linear_bias(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        xh = x.to(w.dtype)
        if xh.numel() == xh.shape[-1] or (torch.is_grad_enabled() and x.requires_grad):
            return F.linear(xh, w, b).float()
        # torch's half addmm rounds the sum once: the float32 GEMM plus the bias, then one rounding
        return self._upcast_linear(xh.float(), w, b)

    def _upcast_linear(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # the weight is upcast 4096 output rows at a time, so that a large head ([vocab, hidden]) never
        # exists whole in float32 (113 MB for SmolLM2's), and each block's product is rounded into its columns of
        # the output as it is made (rounding is per element, so this equals rounding the whole product once): no
        # concatenation or whole-output rounding copy beside the [n, vocab] result; b is empty when there is no bias
        rows = w.shape[0]
        step = 4096  # UPCAST_ROWS (TorchScript cannot read a module-level constant)
        out = torch.empty(x.shape[:-1] + [rows], dtype=torch.float32, device=x.device)
        for start in range(0, rows, step):
            end = min(rows, start + step)
            wf = w[start:end].float()
            if b.numel() == 0:
                part = F.linear(x, wf)
            else:
                part = F.linear(x, wf, b[start:end].float())
            out.narrow(-1, start, end - start).copy_(part.to(w.dtype))
        return out

    @torch.jit.export
    def linear_input_grad(self, g: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            if g.numel() == g.shape[-1]:
                return torch.matmul(g.to(w.dtype), w).float()
            rows = w.shape[0]
            step = 4096  # UPCAST_ROWS
            total = torch.zeros(g.shape[:-1] + [w.shape[1]], dtype=torch.float32, device=g.device)
            for start in range(0, rows, step):
                end = min(rows, start + step)
                # each block of g rounded to the half type (exact in float32 again) times the upcast block of w
                total.add_(torch.matmul(g[..., start:end].to(w.dtype).float(), w[start:end].float()))
            return total.to(w.dtype).float()

    @torch.jit.export
    def linear_native(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self._native_linear(x.to(w.dtype), w, None).float()

    @torch.jit.export
    def linear_bias_native(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self._native_linear(x.to(w.dtype), w, b).float()

    def _native_linear(self, x: torch.Tensor, w: torch.Tensor, b: Optional[torch.Tensor]) -> torch.Tensor:
        # bf16 on a CPU without gradient: oneDNN's bf16 matmul directly. F.linear reaches the same kernel for several
        # rows, but for one row (a decode step) libtorch 2.7.1 takes its own GEMV, 1.2-2.3x slower on SmolLM2's
        # shapes with avx512_bf16 (docs/djl-notes.md). The op has no autograd formula, hence the grad condition.
        if w.dtype == torch.bfloat16 and w.device.type == "cpu" and not (torch.is_grad_enabled() and x.requires_grad):
            return torch.ops.mkldnn._linear_pointwise(x.contiguous(), w, b, "none", [], "")
        return F.linear(x, w, b)

    @torch.jit.export
    def linear_input_grad_native(self, g: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.matmul(g.to(w.dtype), w).float()

    @torch.jit.export
    def embedding(self, ids: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, w).float()

    @torch.jit.export
    def rms_norm(self, x: torch.Tensor, w: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        h = x.to(w.dtype).float()
        variance = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(variance + eps)
        return (w * h.to(w.dtype)).float()

    @torch.jit.export
    def layer_norm(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x.to(w.dtype), [w.shape[0]], w, b, float(eps.item())).float()

    @torch.jit.export
    def rope(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        xh = x.to(like.dtype)
        c = cos.to(like.dtype)
        s = sin.to(like.dtype)
        half = xh.shape[-1] // 2
        rotated = torch.cat((-xh[..., half:], xh[..., :half]), dim=-1)
        return (xh * c + rotated * s).float()

    @torch.jit.export
    def silu_mul(self, g: torch.Tensor, u: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return (F.silu(g.to(like.dtype)) * u.to(like.dtype)).float()

    @torch.jit.export
    def gelu_new(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        h = x.to(like.dtype)
        return (0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))).float()

    @torch.jit.export
    def gelu_tanh(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.gelu(x.to(like.dtype), approximate="tanh").float()

    @torch.jit.export
    def gelu(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.gelu(x.to(like.dtype)).float()

    @torch.jit.export
    def add(self, a: torch.Tensor, b: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return (a.to(like.dtype) + b.to(like.dtype)).float()

    @torch.jit.export
    def causal_attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q.to(like.dtype), k.to(like.dtype), v.to(like.dtype),
                                              is_causal=True).float()

    @torch.jit.export
    def attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q.to(like.dtype), k.to(like.dtype), v.to(like.dtype)).float()

    def _rows(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        # [B, H, T, D] -> [B*T, H*D], rounded first so that the transposing copy moves half the bytes
        return x.to(dtype).transpose(1, 2).reshape(x.size(0) * x.size(2), x.size(1) * x.size(3))

    @torch.jit.export
    def kv_write(self, k: torch.Tensor, v: torch.Tensor, kp: torch.Tensor, vp: torch.Tensor,
                 rows: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            kp.index_copy_(0, rows, self._rows(k, kp.dtype))
            vp.index_copy_(0, rows, self._rows(v, vp.dtype))
        return rows

    @torch.jit.export
    def kv_exchange(self, k: torch.Tensor, v: torch.Tensor, kp: torch.Tensor, vp: torch.Tensor, rows: torch.Tensor,
                    read: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        self.kv_write(k, v, kp, vp, rows)
        b = k.size(0)
        h = k.size(1)
        d = k.size(3)
        s = read.numel() // b
        # the same layout as the float32 cache's gather (a transposed view), so that attention reads it alike
        keys = kp.index_select(0, read).float().reshape(b, s, h, d).transpose(1, 2)
        values = vp.index_select(0, read).float().reshape(b, s, h, d).transpose(1, 2)
        return keys, values

    @torch.jit.export
    def kv_append(self, k: torch.Tensor, v: torch.Tensor, kc: torch.Tensor,
                  vc: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        keys = k.to(kc.dtype)
        values = v.to(vc.dtype)
        if kc.dim() == 4:
            keys = torch.cat([kc, keys], 2)
            values = torch.cat([vc, values], 2)
        return keys, values, keys.float(), values.float()

    @torch.jit.export
    def kv_append_attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kc: torch.Tensor,
                            vc: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        keys = k.to(kc.dtype)
        values = v.to(vc.dtype)
        if kc.dim() == 4:
            keys = torch.cat([kc, keys], 2)
            values = torch.cat([vc, values], 2)
        groups = q.size(1) // keys.size(1)
        rk = keys
        rv = values
        if groups > 1:
            rk = keys.repeat_interleave(groups, 1)
            rv = values.repeat_interleave(groups, 1)
        context = F.scaled_dot_product_attention(q.to(kc.dtype), rk, rv).float()
        return keys, values, context


    def _any_linear(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, native: bool) -> torch.Tensor:
        if native:
            return self.linear_native(x, w) if b.numel() == 0 else self.linear_bias_native(x, w, b)
        return self.linear(x, w) if b.numel() == 0 else self.linear_bias(x, w, b)

    def _heads(self, x: torch.Tensor, n: int, d: int) -> torch.Tensor:
        # [B, T, n*D] -> [B, n, T, D], as LlamaDecoderLayer's heads()
        return x.reshape(x.size(0), x.size(1), n, d).transpose(1, 2)

    @torch.jit.export
    def llama_attention_input(self, h: torch.Tensor, norm: torch.Tensor, eps: torch.Tensor, wqkv: torch.Tensor,
                              bqkv: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, dims: torch.Tensor,
                              native: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self._attention_input(h, norm, eps, wqkv, bqkv, cos, sin, dims, native, None)

    @torch.jit.export
    def llama_attention_input_low_rank(self, h: torch.Tensor, norm: torch.Tensor, eps: torch.Tensor,
                                       wqkv: torch.Tensor, bqkv: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                                       dims: torch.Tensor, native: torch.Tensor, qkv_right: torch.Tensor,
                                       qkv_left: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self._attention_input(h, norm, eps, wqkv, bqkv, cos, sin, dims, native, (qkv_right, qkv_left))

    def _attention_input(self, h: torch.Tensor, norm: torch.Tensor, eps: torch.Tensor, wqkv: torch.Tensor,
                         bqkv: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, dims: torch.Tensor,
                         native: torch.Tensor, qkv_delta: Optional[Tuple[torch.Tensor, torch.Tensor]]
                         ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        d: List[int] = dims.tolist()
        q_width = d[0] * d[2]
        kv_width = d[1] * d[2]
        x = self.rms_norm(h, norm, eps)
        qkv = self._adapted_linear(x, wqkv, bqkv, bool(native.item()), qkv_delta)  # [B, T, q_width + 2 * kv_width]
        q = self.rope(self._heads(qkv[..., :q_width], d[0], d[2]), cos, sin, norm)
        k = self.rope(self._heads(qkv[..., q_width:q_width + kv_width], d[1], d[2]), cos, sin, norm)
        v = self._heads(qkv[..., q_width + kv_width:], d[1], d[2])
        return q, k, v

    @torch.jit.export
    def llama_attention_output(self, h: torch.Tensor, context: torch.Tensor, wo: torch.Tensor, bo: torch.Tensor,
                               norm: torch.Tensor, eps: torch.Tensor, wgu: torch.Tensor, bgu: torch.Tensor,
                               wd: torch.Tensor, bd: torch.Tensor, native: torch.Tensor) -> torch.Tensor:
        return self._attention_output(h, context, wo, bo, norm, eps, wgu, bgu, wd, bd, native, None, None, None)

    @torch.jit.export
    def llama_attention_output_low_rank(self, h: torch.Tensor, context: torch.Tensor, wo: torch.Tensor,
                                        bo: torch.Tensor, norm: torch.Tensor, eps: torch.Tensor, wgu: torch.Tensor,
                                        bgu: torch.Tensor, wd: torch.Tensor, bd: torch.Tensor, native: torch.Tensor,
                                        o_right: torch.Tensor, o_left: torch.Tensor, gu_right: torch.Tensor,
                                        gu_left: torch.Tensor, d_right: torch.Tensor,
                                        d_left: torch.Tensor) -> torch.Tensor:
        return self._attention_output(h, context, wo, bo, norm, eps, wgu, bgu, wd, bd, native, (o_right, o_left),
                                      (gu_right, gu_left), (d_right, d_left))

    def _attention_output(self, h: torch.Tensor, context: torch.Tensor, wo: torch.Tensor, bo: torch.Tensor,
                          norm: torch.Tensor, eps: torch.Tensor, wgu: torch.Tensor, bgu: torch.Tensor,
                          wd: torch.Tensor, bd: torch.Tensor, native: torch.Tensor,
                          o_delta: Optional[Tuple[torch.Tensor, torch.Tensor]],
                          gu_delta: Optional[Tuple[torch.Tensor, torch.Tensor]],
                          d_delta: Optional[Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        nat = bool(native.item())
        h = self.add(h, self._adapted_linear(context, wo, bo, nat, o_delta), norm)
        x = self.rms_norm(h, norm, eps)
        gate_up = self._adapted_linear(x, wgu, bgu, nat, gu_delta)  # [B, T, 2 * intermediate]
        intermediate = gate_up.size(-1) // 2
        gated = self.silu_mul(gate_up[..., :intermediate], gate_up[..., intermediate:], norm)
        return self.add(h, self._adapted_linear(gated, wd, bd, nat, d_delta), norm)

    def _adapted_linear(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, native: bool,
                        delta: Optional[Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        # the base product plus each row's low-rank delta in float32, (x @ right) @ left, as peftd's op-by-op path
        # adds it (GroupedHook: the same two batched products, the sum left in float32 for the next op to round)
        base = self._any_linear(x, w, b, native)
        if delta is None:
            return base
        right, left = delta
        return base + torch.matmul(torch.matmul(x, right), left)


def main():
    OUT.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.script(HalfOps()).save(str(OUT))
    print(OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
