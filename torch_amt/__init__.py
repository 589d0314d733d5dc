"""torch_amt: computational auditory models of the Auditory Modeling Toolbox in PyTorch.

Layered, differentiable ``torch.nn.Module`` stages (outer/middle ear, gammatone and
DRNL filterbanks, inner-hair-cell envelope, adaptation loops, modulation filterbanks)
and the published models composed from them, validated numerically against the
outputs of AMT 1.4.0.
"""

from torch_amt import dsp

__version__ = "0.1.0.dev0"

__all__ = ["dsp", "__version__"]
