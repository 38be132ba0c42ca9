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

The archive holds TorchScript source only (no weights); it was saved by torch 2.13 and loads in DJL's libtorch 2.7.1.
"""
import pathlib

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


def main():
    OUT.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.script(FusedOps()).save(str(OUT))
    print(OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
