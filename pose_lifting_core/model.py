"""The residual MLP of Martinez et al. 2017, every size an argument.

Owns: the network (`LinearModel`) and its max-norm weight constraint. Knows nothing about
cameras or normalisation (see codec.py).

in (N, in_dim) -> Linear -> BN -> ReLU -> Dropout -> [residual block] x num_blocks -> Linear
   -> out (N, out_dim)
residual block: x + (Linear -> BN -> ReLU -> Dropout) x 2
"""

from __future__ import annotations

import warnings
from typing import Dict

import torch
from torch import nn


class _Block(nn.Module):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(width, width),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(width, width),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


class LinearModel(nn.Module):
    """Martinez's baseline: `width` wide, `num_blocks` residual blocks, batch norm, ReLU,
    dropout."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int = 1024,
        num_blocks: int = 2,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.hparams = {
            "in_dim": in_dim,
            "out_dim": out_dim,
            "width": width,
            "num_blocks": num_blocks,
            "dropout": dropout,
        }
        self.inp = nn.Sequential(
            nn.Linear(in_dim, width),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )
        self.blocks = nn.Sequential(*[_Block(width, dropout) for _ in range(num_blocks)])
        self.out = nn.Linear(width, out_dim)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(self.inp(x)))

    @staticmethod
    def from_hparams(hparams: Dict[str, float]) -> "LinearModel":
        return LinearModel(
            int(hparams["in_dim"]),
            int(hparams["out_dim"]),
            int(hparams["width"]),
            int(hparams["num_blocks"]),
            float(hparams["dropout"]),
        )


@torch.no_grad()
def apply_max_norm(model: nn.Module, max_norm: float = 1.0) -> None:
    """Martinez's max-norm constraint: rescale each Linear weight row to L2 norm <= max_norm."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            norms = m.weight.norm(dim=1, keepdim=True).clamp(min=max_norm)
            m.weight.mul_(max_norm / norms)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class FusedInference(nn.Module):
    """An inference-only copy of a LinearModel with each batch norm folded into the Linear before
    it and dropout removed: the same function as `model.eval()` (to float rounding), fewer ops.

    BN(Wx + b) = s * (Wx + b - mean) + beta with s = gamma / sqrt(var + eps)
               = (s W) x + s (b - mean) + beta."""

    def __init__(self, model: LinearModel) -> None:
        super().__init__()
        self.hparams = dict(model.hparams)

        def fold(lin: nn.Linear, bn: nn.BatchNorm1d) -> nn.Linear:
            s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            out = nn.Linear(lin.in_features, lin.out_features)
            with torch.no_grad():
                out.weight.copy_(lin.weight * s[:, None])
                out.bias.copy_((lin.bias - bn.running_mean) * s + bn.bias)
            return out

        self.inp = fold(model.inp[0], model.inp[1])
        self.blocks = nn.ModuleList(
            nn.ModuleList([fold(b.layers[0], b.layers[1]), fold(b.layers[4], b.layers[5])])
            for b in model.blocks
        )
        self.out = nn.Linear(model.out.in_features, model.out.out_features)
        self.out.load_state_dict(model.out.state_dict())
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        relu = torch.relu
        x = relu(self.inp(x))
        for l1, l2 in self.blocks:
            x = x + relu(l2(relu(l1(x))))
        return self.out(x)


def int8_available() -> bool:
    """Whether PyTorch's x86 int8 kernels (fbgemm) are there for `quantize_hidden_int8`."""
    try:
        from torch.ao.nn.quantized.dynamic import Linear  # noqa: F401
    except ImportError:
        return False
    return any(e in torch.backends.quantized.supported_engines for e in ("x86", "fbgemm"))


def quantize_linear_int8(module: nn.Module) -> nn.Module:
    """A copy of `module` with every nn.Linear in int8 (CPU): weights quantised per output
    channel, activations per call at run time (PyTorch dynamic quantisation, fbgemm kernels).

    torch.ao.quantization is marked deprecated in favour of torchao, which this package does not
    depend on; the pinned torch has it, and without it `int8_available()` is False."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(deprecated|quantize_per_tensor).*")
        return quantize_dynamic(module, {nn.Linear: per_channel_dynamic_qconfig}, inplace=False)


def quantize_hidden_int8(model: FusedInference) -> FusedInference:
    """The same network with its hidden width x width layers in int8 (`quantize_linear_int8`).
    The input and output layers stay fp32: quantising the input features to 8 bits is what
    costs accuracy (docs/BENCHMARKS.md), and those layers are about 1 % of the work."""
    model.blocks = quantize_linear_int8(model.blocks)
    return model
