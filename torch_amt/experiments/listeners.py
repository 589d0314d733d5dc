"""Model + decision stage as the listener of an adaptive forced-choice experiment.

A listener answers one trial step for every run at once: the ``(R, I, ...)`` intervals
are flattened into one batch of ``R * I`` signals, passed through the model once, and
the representations are handed to the decision stage (see
:class:`~torch_amt.experiments.afc.Listener`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from torch_amt.decision import (
    CentralProcState,
    OptimalDetector,
    breebaart2001_centralproc,
    centralproc_channels,
    unit_template,
)

__all__ = ["CentralProcListener", "TemplateListener"]


def _model_device(model: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    for t in (*model.parameters(), *model.buffers()):
        if t.is_floating_point():
            return t.device, t.dtype
    return torch.device("cpu"), torch.float32


class TemplateListener:
    """Optimal-detector listener (Dau et al. 1996a): template matching with internal noise.

    One template per condition, so several conditions (e.g. modulation frequencies) run
    through the model in one batch (:func:`~torch_amt.experiments.run_conditions`: the
    runs of condition ``c`` are the ``c``-th block of ``n_runs``).

    Parameters
    ----------
    representation : callable
        Batched audio ``(B, channels..., T)`` -> internal representation ``(B, S)``
        (e.g. a model with its output flattened into one tensor).
    templates : Tensor, shape (C, S)
        Unit-energy template per condition (:meth:`from_signals` derives them).
    references : Tensor, shape (C, S)
        Reference (mean masker) representation per condition, subtracted from every
        interval before the correlation.
    noise_std : float
        Internal-noise standard deviation on the decision variable
        (:class:`~torch_amt.decision.OptimalDetector`).
    device : torch.device, optional
        Where the representation runs (the intervals are moved there).
    """

    def __init__(self, representation: Callable[[torch.Tensor], torch.Tensor],
                 templates: torch.Tensor, references: torch.Tensor, noise_std: float,
                 device: torch.device | str | None = None) -> None:
        if templates.shape != references.shape or templates.ndim < 2:
            raise ValueError(f"templates {tuple(templates.shape)} and references "
                             f"{tuple(references.shape)} must both be (conditions, *S)")
        self.representation = representation
        self.device = torch.device(device) if device is not None else templates.device
        self.detectors = [OptimalDetector(t, r, noise_std).to(self.device)
                          for t, r in zip(templates, references, strict=True)]

    @classmethod
    def from_signals(cls, representation: Callable[[torch.Tensor], torch.Tensor],
                     targets: list[torch.Tensor], references: list[torch.Tensor],
                     noise_std: float, device: torch.device | str | None = None
                     ) -> TemplateListener:
        """Derive one template per condition from example intervals (Dau et al. 1996a):
        the mean representation of the target examples (suprathreshold signal) minus
        the mean of the reference examples, normalised to unit energy.

        Parameters
        ----------
        targets, references : list of Tensor, each (N, channels..., T)
            Example intervals per condition (N realisations each).
        """
        templates, means = [], []
        with torch.no_grad():
            for target, reference in zip(targets, references, strict=True):
                ir_t = representation(target.to(device) if device else target).mean(dim=0)
                ir_r = representation(reference.to(device) if device else reference).mean(dim=0)
                templates.append(unit_template(ir_t, ir_r))
                means.append(ir_r)
        return cls(representation, torch.stack(templates), torch.stack(means), noise_std,
                   device=device or templates[0].device)

    def initial_state(self, n_runs: int) -> torch.Tensor:
        """The condition of every run (blocks of equal size, in order)."""
        per, rest = divmod(n_runs, len(self.detectors))
        if rest:
            raise ValueError(f"{n_runs} runs do not split into {len(self.detectors)} "
                             "conditions")
        return torch.arange(len(self.detectors)).repeat_interleave(per)

    def select(self, state: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """The conditions of the runs still going."""
        return state[keep]

    def __call__(self, intervals: torch.Tensor, state: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Chosen interval per run, ``(R,)``."""
        runs, n = intervals.shape[:2]
        noise = torch.randn((runs, n), generator=generator, dtype=torch.float64)
        decision = torch.empty(runs, dtype=torch.long)
        with torch.no_grad():
            ir = self.representation(intervals.flatten(0, 1).to(self.device))
            ir = ir.unflatten(0, (runs, n))
            for c, detector in enumerate(self.detectors):
                rows = (state == c).nonzero().flatten()
                if len(rows):
                    picked = detector(ir[rows.to(ir.device)],
                                      noise=noise[rows].to(ir.device, ir.dtype))
                    decision[rows] = picked.cpu()
        return decision, state


class CentralProcListener:
    """Breebaart et al. (2001) listener: a binaural model and its central processor.

    Parameters
    ----------
    model : torch.nn.Module
        :class:`~torch_amt.Breebaart2001` (or any module with its interface:
        ``model(x (B, 2, T), monaural=True) -> (ei (B, F, T), left, right)``).
    bimono : str
        Channels of the decision (AMT ``bimonostring``; ``'lbr'`` in
        ``exp_breebaart2001``).
    monofactor : float
        Gain on the monaural representations (AMT 0.0003).
    templatesq : {'amt', 'mean_square'}
        See :func:`~torch_amt.decision.breebaart2001_centralproc`.
    """

    def __init__(self, model: torch.nn.Module, bimono: str = "lbr", monofactor: float = 3e-4,
                 templatesq: str = "amt") -> None:
        centralproc_channels(bimono)
        self.model = model
        self.bimono = bimono
        self.monofactor = monofactor
        self.templatesq = templatesq
        self.device, self.dtype = _model_device(model)

    def initial_state(self, n_runs: int) -> CentralProcState:
        """A fresh observer per run (AMT: ``clear breebaart2001_centralproc``)."""
        return CentralProcState()

    def select(self, state: CentralProcState, keep: torch.Tensor) -> CentralProcState:
        """The state of the runs in ``keep``."""
        keep = keep.to(self.device)
        templates = {c: tuple(t[keep] for t in ts) for c, ts in state.templates.items()}
        return CentralProcState(state.n_masker, state.n_signal, templates)

    def __call__(self, intervals: torch.Tensor, state: CentralProcState,
                 generator: torch.Generator) -> tuple[torch.Tensor, CentralProcState]:
        """Chosen interval per run, ``(R,)``, and the updated observer states."""
        runs, n = intervals.shape[:2]
        x = intervals.flatten(0, 1).to(self.device, self.dtype)
        with torch.no_grad():
            ei, left, right = self.model(x, monaural=True)
            ei, left, right = (t.unflatten(0, (runs, n)) for t in (ei, left, right))
            noise = torch.randn((runs, n), generator=generator, dtype=torch.float64)
            decision, state = breebaart2001_centralproc(
                ei, left, right, state, self.bimono, monofactor=self.monofactor,
                noise=noise.to(self.device, ei.dtype), templatesq=self.templatesq)
        return decision.cpu(), state
