"""Correlation-based optimal detector (AMT 1.4.0 ``optimaldetector``).

The detector of Dau et al. (1996a): the difference between the internal representation
(IR) of an interval and that of a reference masker is correlated with a *template*, the
normalised IR difference that a clearly audible signal produces. For a signal known
exactly in Gaussian noise this is the optimal (matched-filter) detector of Green and
Swets (1966).

References
----------
T. Dau, D. Püschel, A. Kohlrausch (1996a). A quantitative model of the "effective"
signal processing in the auditory system. II. Simulations and measurements.
J. Acoust. Soc. Am. 99(6), 3623-3631.

D. M. Green, J. A. Swets (1966). Signal Detection Theory and Psychophysics. Wiley.
"""

from __future__ import annotations

import math

import torch

from torch_amt import _checks

__all__ = ["OptimalDetector", "optimal_detector", "unit_template"]


def _check_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    _checks.check_not_meta(x, name)
    if not (x.is_floating_point() or x.is_complex()) or x.is_complex():
        raise TypeError(f"{name} must be a real floating-point tensor, got {x.dtype}")
    return x


def optimal_detector(ir: torch.Tensor, template: torch.Tensor) -> torch.Tensor:
    """Template correlation ``mean(ir * template) * sqrt(N)`` (AMT ``optimaldetector``).

    AMT multiplies element by element, averages over *all* elements of the internal
    representation and corrects by the "optimality factor" ``sqrt(N)``, ``N`` the number
    of elements; with a unit-energy template this is the projection of ``ir`` onto the
    template divided by ``sqrt(N)``.

    Parameters
    ----------
    ir : Tensor, shape (..., S)
        Internal representation(s) of the detector input (usually an interval's IR
        minus the reference masker's IR), in any layout; the leading dimensions that
        ``template`` does not have are batch dimensions.
    template : Tensor, shape S
        Template; its ``template.ndim`` dimensions are the trailing ones of ``ir``.

    Returns
    -------
    Tensor, shape (...)
        Decision variable per batch item (model units).

    Raises
    ------
    TypeError
        If an argument is not a real floating-point tensor.
    ValueError
        If the trailing shape of ``ir`` differs from ``template.shape`` or the template
        is empty.
    """
    ir = _check_tensor(ir, "ir")
    template = _check_tensor(template, "template")
    k = template.ndim
    if template.numel() == 0:
        raise ValueError("template must not be empty")
    if ir.ndim < k or tuple(ir.shape[ir.ndim - k:]) != tuple(template.shape):
        raise ValueError(f"the trailing dimensions of ir {tuple(ir.shape)} must equal the "
                         f"template shape {tuple(template.shape)}")
    n = template.numel()
    dims = tuple(range(ir.ndim - k, ir.ndim))
    return (ir * template).sum(dim=dims) / n * math.sqrt(n) if k else ir * template


def unit_template(ir_signal: torch.Tensor, ir_reference: torch.Tensor) -> torch.Tensor:
    """Normalised template ``d / sqrt(sum(d**2))`` with ``d = ir_signal - ir_reference``.

    Dau et al. (1996a): the template is the IR change a suprathreshold signal causes,
    scaled to unit energy over all its elements.

    Parameters
    ----------
    ir_signal : Tensor, shape S
        IR of masker plus (suprathreshold) signal.
    ir_reference : Tensor, shape S
        IR of the masker alone.

    Returns
    -------
    Tensor, shape S

    Raises
    ------
    ValueError
        If the shapes differ or the difference is zero everywhere (no template).
    """
    ir_signal = _check_tensor(ir_signal, "ir_signal")
    ir_reference = _check_tensor(ir_reference, "ir_reference")
    if ir_signal.shape != ir_reference.shape:
        raise ValueError(f"ir_signal {tuple(ir_signal.shape)} and ir_reference "
                         f"{tuple(ir_reference.shape)} must have the same shape")
    diff = ir_signal - ir_reference
    energy = diff.square().sum()
    if not bool(energy > 0):
        raise ValueError("the signal does not change the internal representation: the "
                         "template would be 0/0 (use a higher template signal level)")
    return diff / energy.sqrt()


class OptimalDetector(torch.nn.Module):
    """n-interval forced-choice listener with an optimal detector and internal noise.

    Each interval's IR minus the reference masker IR is correlated with the template
    (:func:`optimal_detector`); Gaussian internal noise of standard deviation
    ``noise_std`` is added to each interval's decision variable and the interval with
    the largest value is chosen. Additive white Gaussian noise of standard deviation
    ``s`` on every IR element would give exactly this with ``noise_std = s / sqrt(N)``
    (the template has unit energy); adding it to the decision variable is the same
    distribution for a fraction of the cost.

    Parameters
    ----------
    template : Tensor, shape S
        Unit-energy template (:func:`unit_template`).
    ir_reference : Tensor, shape S
        IR of the reference masker subtracted from every interval.
    noise_std : float
        Standard deviation of the internal noise on the decision variable (model units
        of :func:`optimal_detector`), >= 0.
    """

    def __init__(self, template: torch.Tensor, ir_reference: torch.Tensor,
                 noise_std: float) -> None:
        super().__init__()
        template = _check_tensor(template, "template")
        ir_reference = _check_tensor(ir_reference, "ir_reference")
        if template.shape != ir_reference.shape:
            raise ValueError(f"template {tuple(template.shape)} and ir_reference "
                             f"{tuple(ir_reference.shape)} must have the same shape")
        self.noise_std = _checks.check_number(noise_std, "noise_std", minimum=0.0)
        self.register_buffer("template", template.detach().clone())
        self.register_buffer("ir_reference", ir_reference.detach().clone())

    def decision_variable(self, ir: torch.Tensor) -> torch.Tensor:
        """Noise-free decision variables, shape ``(...)`` for ``ir`` of shape ``(..., S)``."""
        return optimal_detector(ir - self.ir_reference, self.template)

    def forward(self, ir: torch.Tensor, noise: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Choose an interval per trial.

        Parameters
        ----------
        ir : Tensor, shape (..., I, S)
            IRs of the ``I`` intervals of each trial.
        noise : Tensor, shape (..., I), optional
            Standard-normal draws for the internal noise (injectable for reproducible
            tests); drawn with ``generator`` when omitted.
        generator : torch.Generator, optional

        Returns
        -------
        LongTensor, shape (...)
            Index (0-based) of the chosen interval.
        """
        mue = self.decision_variable(ir)
        if mue.ndim < 1:
            raise ValueError("ir needs an interval dimension before the template shape")
        if noise is None:
            noise = torch.randn(mue.shape, generator=generator, dtype=mue.dtype,
                                device=mue.device)
        elif noise.shape != mue.shape:
            raise ValueError(f"noise must have shape {tuple(mue.shape)}, got "
                             f"{tuple(noise.shape)}")
        return torch.argmax(mue + self.noise_std * noise, dim=-1)
