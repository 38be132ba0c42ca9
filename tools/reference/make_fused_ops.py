"""Writes src/main/resources/dev/peftd/core/model/fused-ops.pt: a parameterless TorchScript module through which
peftd calls libtorch kernels that DJL does not expose (djl-notes.md section 2).

    /work/refvenv/bin/python tools/reference/make_fused_ops.py

Methods (all tensors float32, any device; autograd flows through them when grad mode is on):
  causal_attention(q, k, v)  scaled_dot_product_attention(q, k, v, is_causal=True), q/k/v [B, H, T, D], the same
                             head count (GQA keys and values are repeated by the caller, as transformers' repeat_kv).
                             On CPU this is the flash kernel: it saves O(T) per row for backward instead of the
                             [T, T] softmax, and is 1.4-2.5x faster than the composed attention at T = 256.
  silu(x)                    F.silu: saves only x for backward (the composed x * sigmoid(x) also saves sigmoid(x)).
  cross_entropy_grad_(logits, targets, weights)
                             for rows of logits [n, V] (a view into the step's logits), targets [n] int64 and
                             weights [n] (loss weight / denominator): returns sum(weights * -log softmax(logits)[targets])
                             and overwrites logits with that sum's gradient, weights * (softmax(logits) - onehot(targets)),
                             in place: the head's backward then needs no second [n, V] array.
  lora_rows(x, w, right, left, sizes)
  lora_rows_bias(x, w, b, right, left, sizes)
                             a batch whose rows each have their own low-rank adapter, through one linear layer or
                             n sibling layers that share the input x [B, T, in] (q/k/v), each of rank K: w [sum(out), in]
                             (and b [sum(out)]) the base weights side by side, right [B, in, n*K] and left [B, K, sum(out)]
                             each row's gathered factors side by side (layer i's are right's columns i*K.. and left's
                             columns from its offset), sizes int64 [n] the layers' out widths. Returns each layer's
                             x.w_i^T (+ b_i) + (x.right_i).left_i, [B, T, out_i]: the shared base GEMM, one batched
                             down-projection for all layers and one batched up-projection per layer in one native
                             call (a decode step on a 64-wide model costs its count of calls, not its FLOPs).

The archive holds TorchScript source only (no weights); it was saved by torch 2.13 and loads in DJL's libtorch 2.7.1.
"""
import pathlib

from typing import List

import torch
import torch.nn.functional as F

OUT = pathlib.Path(__file__).resolve().parents[2] / "src/main/resources/dev/peftd/core/model/fused-ops.pt"


class FusedOps(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @torch.jit.export
    def causal_attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    @torch.jit.export
    def silu(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(x)

    @torch.jit.export
    def cross_entropy_grad_(self, logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            lse = torch.logsumexp(logits, -1, keepdim=True)                # [n, 1]
            picked = logits.gather(-1, targets.unsqueeze(-1))                # [n, 1]
            loss = ((lse - picked).squeeze(-1) * weights).sum()             # []
            logits.sub_(lse).exp_().mul_(weights.unsqueeze(-1))              # softmax * w, in place
            logits.scatter_add_(-1, targets.unsqueeze(-1), -weights.unsqueeze(-1))
        return loss

    @torch.jit.export
    def lora_rows(self, x: torch.Tensor, w: torch.Tensor, right: torch.Tensor, left: torch.Tensor,
                  sizes: torch.Tensor) -> List[torch.Tensor]:
        return self._lora_rows(F.linear(x, w), x, right, left, sizes)

    @torch.jit.export
    def lora_rows_bias(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, right: torch.Tensor,
                       left: torch.Tensor, sizes: torch.Tensor) -> List[torch.Tensor]:
        return self._lora_rows(F.linear(x, w, b), x, right, left, sizes)

    def _lora_rows(self, base: torch.Tensor, x: torch.Tensor, right: torch.Tensor, left: torch.Tensor,
                   sizes: torch.Tensor) -> List[torch.Tensor]:
        down = torch.bmm(x, right)  # [B, T, n*K]
        rank = left.shape[1]
        outputs: List[torch.Tensor] = []
        start = 0
        for i, size in enumerate(torch.jit.annotate(List[int], sizes.tolist())):
            # strided slices: the batched GEMM reads them in place (their rows are contiguous)
            outputs.append(torch.baddbmm(base[:, :, start:start + size], down[:, :, i * rank:(i + 1) * rank],
                                         left[:, :, start:start + size]))  # [B, T, out_i]
            start += size
        return outputs

def main():
    OUT.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.script(FusedOps()).save(str(OUT))
    print(OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
