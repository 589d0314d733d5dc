"""Amplitude-modulation detection thresholds against modulation frequency (a temporal
modulation transfer function) with Dau et al. (1997) and the optimal detector.

Sinusoidal AM of a broadband Gaussian-noise carrier (:class:`~torch_amt.experiments.AMNoise`),
3-interval forced choice, 2-down-1-up on the modulation depth ``20 log10(m)``; the
listener is :class:`~torch_amt.Dau1997` (AMT 1.4.0 defaults, a band of auditory channels)
whose modulation-filterbank output is matched to a template (Dau et al. 1996a, 1997;
:class:`~torch_amt.experiments.TemplateListener`). Every modulation frequency and run is
one batch through the model per trial step.

This is a demonstration of the experiment machinery, not a calibrated reproduction: the
internal noise is one number (``noise_std``) chosen once so that low-rate thresholds lie
near the -25 dB of human listeners; Dau et al. (1997) used a different decision stage
and carrier bandwidths.

References
----------
T. Dau, B. Kollmeier, A. Kohlrausch (1997). Modeling auditory processing of amplitude
modulation. I. Detection and masking with narrow-band carriers. J. Acoust. Soc. Am.
102(5), 2892-2905.

N. F. Viemeister (1979). Temporal modulation transfer functions based upon modulation
thresholds. J. Acoust. Soc. Am. 66(5), 1364-1380.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from torch_amt.experiments.afc import AdaptiveProcedure, run_conditions
from torch_amt.experiments.listeners import TemplateListener
from torch_amt.experiments.signals import AMNoise
from torch_amt.models.dau1997 import Dau1997

__all__ = ["AMDetectionSetup", "am_detection"]


@dataclass(frozen=True)
class AMDetectionSetup:
    """Settings of the AM-detection experiment (``quick``: the CI-sized variant)."""

    fs: float = 16000.0
    fms: tuple[float, ...] = (4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
    duration: float = 0.5
    level: float = 65.0
    carrier_low: float = 1.0
    carrier_high: float = 5000.0
    flow: float = 3000.0
    fhigh: float = 5000.0
    template_depth_db: float = -6.0
    template_examples: int = 8
    noise_std: float = 0.05
    runs: int = 3

    @classmethod
    def quick(cls) -> AMDetectionSetup:
        """Fewer modulation frequencies, one channel, 2 runs (a CI-sized run)."""
        return cls(fms=(4.0, 16.0, 64.0), flow=1000.0, fhigh=1000.0, duration=0.3, runs=2,
                   template_examples=4)


def _representation(model: Dau1997):
    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.cat(list(model(x.to(torch.float32))), dim=1).to(torch.float64)
    return run


def am_detection(setup: AMDetectionSetup | None = None, runs: int | None = None,
                 seed: int = 0) -> dict[str, Any]:
    """Run the experiment.

    Parameters
    ----------
    setup : AMDetectionSetup, optional
        Settings (default: the full set).
    runs : int, optional
        Independent runs per modulation frequency (default ``setup.runs``).
    seed : int
        Seed of the whole experiment.

    Returns
    -------
    dict
        ``{"experiment": "am_detection", "conditions": [{"fm", "threshold_db",
        "std_db"}], "runtime_s"}``; thresholds are ``20 log10(m)`` (mean over runs,
        spread: population standard deviation).
    """
    setup = setup or AMDetectionSetup()
    runs = runs or setup.runs
    start = time.perf_counter()
    model = Dau1997(setup.fs, flow=setup.flow, fhigh=setup.fhigh)
    representation = _representation(model)
    signals = [AMNoise(setup.fs, fm, setup.duration, setup.level, setup.carrier_low,
                       setup.carrier_high) for fm in setup.fms]
    generator = torch.Generator().manual_seed(seed + 10_000)
    depth = torch.full((setup.template_examples,), setup.template_depth_db,
                       dtype=torch.float64)
    targets, references = [], []
    for signal in signals:
        x = signal(depth, 2, generator)
        targets.append(x[:, 0])
        references.append(x[:, 1])
    listener = TemplateListener.from_signals(representation, targets, references,
                                             setup.noise_std)
    procedure = AdaptiveProcedure(start=-6.0, step=4.0, min_step=1.0, n_reversals=6,
                                  maximum=0.0)
    results = run_conditions(signals, listener, procedure, n_runs=runs, seed=seed)
    return {"experiment": "am_detection",
            "conditions": [{"fm": fm, "threshold_db": r.mean, "std_db": r.std}
                           for fm, r in zip(setup.fms, results, strict=True)],
            "runtime_s": time.perf_counter() - start}


def plot_am_detection(result: dict[str, Any], path: str) -> None:
    """Thresholds against modulation frequency (log axis), saved to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fms = [c["fm"] for c in result["conditions"]]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.errorbar(fms, [c["threshold_db"] for c in result["conditions"]],
                yerr=[c["std_db"] for c in result["conditions"]], marker="o", capsize=3,
                label="Dau1997 + optimal detector")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(fms)
    ax.set_xticklabels([f"{f:g}" for f in fms])
    ax.set_xlabel("modulation frequency (Hz)")
    ax.set_ylabel("threshold 20 log10(m) (dB)")
    ax.invert_yaxis()
    ax.set_title("AM detection, broadband-noise carrier")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
