"""Internal noise: Gaussian noise of a fixed level added per auditory channel (sCASP)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from torch_amt import _checks
from torch_amt.functional.relanoiborra2019 import internal_noise, internal_noise_levels
from torch_amt.stages.base import Stage

__all__ = ["InternalNoise"]


class InternalNoise(Stage):
    """Add Gaussian noise of a fixed level to each auditory channel (AMT
    ``relanoiborra2019_featureextraction``, ``'internalnoise'``).

    Per channel ``k`` a row of standard-normal draws is scaled to an rms of
    ``10^((L_k - 100)/20)`` (AMT ``scaletodbspl(randn(T, 1), L_k, 100)``: its own rms
    is divided out, so the level is exact) and added. ``L_k`` is entry ``k`` of AMT's
    60-entry table (normal-hearing thresholds, -68 ... -100 dB) minus 3.7 dB.

    Randomness: draws come from ``generator`` (a ``torch.Generator``; made from ``seed``
    when given, else the global generator), in float64 on the generator's device, in
    the order ``(B, F, T)``. Seeding gives reproducible runs; it does not reproduce
    Octave's ``randn`` stream. For bit-exact comparisons pass the draws yourself
    (``forward(x, draws)``, e.g. AMT's). ``enabled=False`` (AMT ``'no_internalnoise'``)
    makes the stage the identity.

    Parameters
    ----------
    num_channels : int
        Number of channels ``F`` (at most 60, AMT's table).
    enabled : bool
        Add the noise (AMT ``'internalnoise'``, default) or not.
    seed : int, optional
        Seed of the stage's own ``torch.Generator`` (CPU). None: the global generator.
    levels : sequence of float, optional
        Levels in dB re the 100-dB convention, one per channel, instead of AMT's table.

    Attributes
    ----------
    levels : Tensor, shape (F,)
        float64 buffer.
    generator : torch.Generator or None

    Shape
    -----
    Input ``(..., F, T)``; output the same.

    References
    ----------
    H. Relaño-Iborra, J. Zaar, and T. Dau, J. Acoust. Soc. Am. 146(5), 3306–3317 (2019).
    """

    amt_function = "relanoiborra2019_featureextraction"
    float64_buffers = ("levels",)

    def __init__(self, num_channels: int, *, enabled: bool = True, seed: int | None = None,
                 levels=None) -> None:
        super().__init__()
        n = _checks.check_positive(num_channels, "num_channels", integer=True)
        self.enabled = _checks.check_bool(enabled, "enabled")
        if levels is None:
            table = internal_noise_levels(n) if self.enabled else torch.full((n,), torch.nan,
                                                                              dtype=torch.float64)
        else:
            table = _checks.check_values(levels, "levels")
            if table.numel() != n:
                raise ValueError(f"levels must have one entry per channel ({n}), got "
                                 f"{table.numel()}")
        self.register_buffer("levels", table.detach().reshape(-1))
        self.seed = None
        self.generator: torch.Generator | None = None
        self._override: tuple[torch.Tensor | None, torch.Generator | None] = (None, None)
        if seed is not None:
            self.manual_seed(seed)

    def manual_seed(self, seed: int) -> None:
        """(Re)start the stage's generator at ``seed``."""
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)

    @contextmanager
    def using(self, draws: torch.Tensor | None = None,
              generator: torch.Generator | None = None) -> Iterator[None]:
        """Within the block, calls without their own ``draws``/``generator`` use these
        (how a model passes them through its chain)."""
        previous = self._override
        self._override = (draws, generator)
        try:
            yield
        finally:
            self._override = previous

    def draws(self, shape: torch.Size, generator: torch.Generator | None = None
              ) -> torch.Tensor:
        """Standard-normal draws of ``shape`` (float64) from ``generator``, else the
        stage's, else the global generator."""
        g = generator if generator is not None else self.generator
        device = g.device if g is not None else self.levels.device
        return torch.randn(shape, generator=g, dtype=torch.float64, device=device)

    def forward(self, x: torch.Tensor, draws: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Add the noise to ``x (..., F, T)``.

        Parameters
        ----------
        x : Tensor, shape (..., F, T)
        draws : Tensor, shape (..., F, T) or (F, T), optional
            The Gaussian draws to scale and add (instead of drawing).
        generator : torch.Generator, optional
            Generator for this call (instead of the stage's).
        """
        x = _checks.check_signal(x, "x", ndim=range(2, 64), dim_names="(..., F, T)")
        if not self.enabled:
            return x
        draws = self._override[0] if draws is None else draws
        generator = self._override[1] if generator is None else generator
        if x.shape[-2] != self.levels.numel():
            raise ValueError(f"x has {x.shape[-2]} channels (axis -2) but the internal noise "
                             f"has {self.levels.numel()} levels")
        if draws is None:
            draws = self.draws(x.shape, generator)
        else:
            draws = _checks.check_signal(draws, "draws", ndim=range(2, 64),
                                         dim_names="(..., F, T)")
            if draws.shape[-2:] != x.shape[-2:]:
                raise ValueError(f"draws must end with (F, T) = {tuple(x.shape[-2:])}, got "
                                 f"shape {tuple(draws.shape)}")
        noise = internal_noise(draws.to(device=x.device, dtype=torch.float64), self.levels)
        return x + noise.to(x.dtype)

    def amt_equivalent(self) -> str:
        return "'internalnoise'" if self.enabled else "'no_internalnoise'"

    def extra_repr(self) -> str:
        return f"num_channels={self.levels.numel()}, enabled={self.enabled}, seed={self.seed}"
