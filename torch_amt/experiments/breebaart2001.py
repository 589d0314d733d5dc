"""Breebaart et al. (2001b) Fig. 3: N0Spi detection thresholds against masker bandwidth
(AMT 1.4.0 ``exp_breebaart2001('b_fig3')``).

A 300-ms interaurally out-of-phase (Spi) tone at ``fc`` in a 400-ms diotic (N0) Gaussian
noise of bandwidth ``bw`` centred at ``fc``, 65 dB SPL, 50-ms ramps
(:class:`~torch_amt.experiments.Breebaart2001Signal`, AMT ``sig_breebaart2001``);
3-interval forced choice, 2-down-1-up on the tone level starting at 65 dB, step 8 dB
halved every 2 reversals down to 1 dB, threshold = median of the 8 reversals at 1 dB
(``amt_emuexp`` settings of ``exp_breebaart2001``); listener: :class:`~torch_amt.Breebaart2001`
at fs = 32 kHz (tau = 0, ild = 0) and its central processor with ``'lbr'``
(:class:`~torch_amt.experiments.CentralProcListener`). Thresholds are tone level minus
masker level (dB), mean over runs (AMT: 6 runs).

``quick=True`` (a CI-sized check, minutes on 2 cores) differs: one auditory channel at
``fc`` instead of 80-8000 Hz, three bandwidths per centre frequency, 2 runs and 4 final
reversals.

Data: model predictions of Breebaart et al. (2001b) Fig. 3 and the measurements of
van de Par and Kohlrausch (1999) Fig. 1 (N0Spi), as listed in AMT 1.4.0
``data_breebaart2001('fig3')`` / ``data_vandepar1999('fig1_N0Spi')``; the entries are
for the bandwidths :data:`BANDWIDTHS` in order, as far as each list goes.

References
----------
J. Breebaart, S. van de Par, A. Kohlrausch (2001b). Binaural processing model based on
contralateral inhibition. II. Dependence on spectral parameters. J. Acoust. Soc. Am.
110(2), 1089-1104.

S. van de Par, A. Kohlrausch (1999). Dependence of binaural masking level differences on
center frequency, masker bandwidth, and interaural parameters. J. Acoust. Soc. Am.
106(4), 1940-1947.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from torch_amt.experiments.afc import AdaptiveProcedure, run_conditions
from torch_amt.experiments.listeners import CentralProcListener
from torch_amt.experiments.signals import Breebaart2001Signal
from torch_amt.models.breebaart2001 import Breebaart2001

__all__ = ["AMT_EMUEXP_N0SPI", "BANDWIDTHS", "CENTRE_FREQUENCIES", "HUMAN_N0SPI",
           "PUBLISHED_MODEL_N0SPI",
           "breebaart2001_fig3", "plot_breebaart2001_fig3"]

CENTRE_FREQUENCIES = (125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0)
BANDWIDTHS = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0)
MASKER_LEVEL = 65.0
FS = 32000.0

PUBLISHED_MODEL_N0SPI = {
    125.0: (-20.5, -21, -21.5, -22, -21, -23.5),
    250.0: (-22, -22, -20.5, -21, -21, -24, -30),
    500.0: (-20, -21, -21, -20, -21, -22, -26, -28.5),
    1000.0: (-18, -17.5, -18, -17, -18, -18, -20, -22, -25.5),
    2000.0: (-13.5, -10.5, -11, -14, -14, -15, -15, -17.5, -18, -23),
    4000.0: (-9.5, -10, -11.5, -14, -15.5, -17, -16.5, -16, -17.5, -21),
}
"""Breebaart et al. (2001b) Fig. 3 model thresholds (dB re masker level) per fc, for
``BANDWIDTHS[:n]``."""

HUMAN_N0SPI = {
    125.0: (-20, -19.5, -18.5, -17, -16.7, -19.7),
    250.0: (-22.5, -23, -22.5, -23.5, -23, -25, -27.5),
    500.0: (-21, -22, -23.5, -23.3, -23, -24, -25.5, -29.5),
    1000.0: (-18.5, -19.5, -19.5, -20, -21, -19, -18, -22, -22.5),
    2000.0: (-13.5, -14.5, -13.7, -16, -16.5, -13.3, -13.7, -13.5, -17, -21),
    4000.0: (-9.5, -8.5, -9.5, -8.5, -11.7, -12.5, -11.5, -10.5, -10, -15),
}
"""van de Par & Kohlrausch (1999) Fig. 1 N0Spi thresholds (dB re masker level)."""

AMT_EMUEXP_N0SPI: dict[tuple[float, float], tuple[float, ...]] = {
    (125.0, 10.0): (-21, -20, -20),
    (125.0, 100.0): (-21.5, -21, -23),
    (250.0, 10.0): (-21, -21, -18),
    (250.0, 100.0): (-20, -19.5, -18.5),
    (500.0, 10.0): (-19.5, -17, -18),
    (500.0, 100.0): (-19.5, -19, -17.5),
    (500.0, 1000.0): (-26.5, -23.5, -25),
    (1000.0, 10.0): (-16.5, -12, -14),
    (1000.0, 100.0): (-16, -17, -15),
    (1000.0, 1000.0): (-20, -21, -19.5),
    (2000.0, 10.0): (-8.5, -6.5, -5.5),
    (2000.0, 100.0): (-15.5, -11, -13.5),
    (2000.0, 1000.0): (-14.5, -15, -14),
    (4000.0, 10.0): (-4.5, 5.5, -1.5),
    (4000.0, 100.0): (-10.5, -12.5, -11),
    (4000.0, 1000.0): (-13.5, -14, -12.5),
}
"""Thresholds (dB re masker level) of AMT 1.4.0's own emulation of this experiment, per
``(fc, bandwidth)``: one entry per run of ``tools/amt_emuexp/breebaart2001_fig3_condition.m``
(AMT ``amt_emuexp`` with ``exp_breebaart2001``'s settings, Octave 7.3.0, LTFAT 2.5.0, 3
runs, ``SEED=1``; 50 trials and 62 s per run on average, one core), measured on 2026-12-07
for the 16 conditions of the quick mode."""

QUICK_BANDWIDTHS = (10.0, 100.0, 1000.0)


def _lookup(table: dict, fc: float, bw: float) -> float | None:
    values = table[fc]
    k = BANDWIDTHS.index(bw)
    return float(values[k]) if k < len(values) else None


def _conditions(quick: bool) -> list[tuple[float, float]]:
    bws = QUICK_BANDWIDTHS if quick else BANDWIDTHS
    return [(fc, bw) for fc in CENTRE_FREQUENCIES for bw in bws if bw <= 2 * fc]


def breebaart2001_fig3(runs: int | None = None, quick: bool = False, seed: int = 0,
                       dtype: torch.dtype = torch.float32,
                       device: torch.device | str | None = None) -> dict[str, Any]:
    """Run the Fig. 3 experiment.

    Parameters
    ----------
    runs : int, optional
        Runs per condition (default 6, AMT's; ``quick``: 2).
    quick : bool
        The CI-sized variant (see the module docstring).
    seed : int
        Seed of the whole experiment.
    dtype : torch.dtype
        Model precision.
    device : torch.device or str, optional
        Where the model runs.

    Returns
    -------
    dict
        ``{"experiment": "breebaart2001_fig3", "quick", "runs", "runtime_s",
        "conditions": [{"fc", "bandwidth", "threshold_db", "std_db",
        "published_model_db", "human_db", "amt_emuexp_db"}], "rms_vs_published_model_db",
        "rms_vs_human_db", "rms_vs_amt_emuexp_db"}`` (RMS differences in dB over the
        conditions that have both; ``None`` entries: no data for that condition).
    """
    runs = runs or (2 if quick else 6)
    start = time.perf_counter()
    conditions = _conditions(quick)
    procedure = AdaptiveProcedure(start=65.0, step=8.0, n_intervals=3, down=2, up=1,
                                  step_factor=0.5, reversals_per_step=2, min_step=1.0,
                                  n_reversals=4 if quick else 8)
    results = {}
    # one batch per centre frequency and trial step: all 50 conditions at once would hold
    # 900 binaural 0.4-s signals through 31 channels per step (> 20 GB in float32)
    groups = [[c for c in conditions if c[0] == fc] for fc in CENTRE_FREQUENCIES]
    full_model = None if quick else Breebaart2001(FS, dtype=dtype)  # 80-8000 Hz, for all
    for k, group in enumerate(groups):
        fc0 = group[0][0]
        model = (Breebaart2001(FS, flow=fc0, fhigh=fc0, dtype=dtype) if quick
                 else full_model)
        if device is not None:
            model = model.to(device)
        signals = [Breebaart2001Signal(FS, fc, bw, noise_level=MASKER_LEVEL,
                                       signal_phase=math.pi) for fc, bw in group]
        out = run_conditions(signals, CentralProcListener(model, "lbr"), procedure,
                             n_runs=runs, seed=seed + k)
        results.update(dict(zip(group, out, strict=True)))
    rows = []
    for fc, bw in conditions:
        r = results[(fc, bw)]
        amt = AMT_EMUEXP_N0SPI.get((fc, bw))
        rows.append({"fc": fc, "bandwidth": bw, "threshold_db": r.mean - MASKER_LEVEL,
                     "std_db": r.std,
                     "published_model_db": _lookup(PUBLISHED_MODEL_N0SPI, fc, bw),
                     "human_db": _lookup(HUMAN_N0SPI, fc, bw),
                     "amt_emuexp_db": None if amt is None else sum(amt) / len(amt)})
    return {"experiment": "breebaart2001_fig3", "quick": quick, "runs": runs,
            "runtime_s": time.perf_counter() - start, "conditions": rows,
            "rms_vs_published_model_db": _rms(rows, "published_model_db"),
            "rms_vs_human_db": _rms(rows, "human_db"),
            "rms_vs_amt_emuexp_db": _rms(rows, "amt_emuexp_db")}


def _rms(rows: list[dict[str, Any]], key: str) -> float | None:
    """RMS difference (dB) of ``threshold_db`` to ``key`` over the rows that have both."""
    errors = [c["threshold_db"] - c[key] for c in rows if c[key] is not None]
    return math.sqrt(sum(e * e for e in errors) / len(errors)) if errors else None


def plot_breebaart2001_fig3(result: dict[str, Any], path: str) -> None:
    """Six panels (one per centre frequency): thresholds against masker bandwidth, with
    the published model predictions and the human data; saved to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(11, 6.5), sharey=True)
    for ax, fc in zip(axes.flat, CENTRE_FREQUENCIES, strict=True):
        rows = [c for c in result["conditions"] if c["fc"] == fc]
        bws = [b for b in BANDWIDTHS if b <= 2 * fc]
        human = HUMAN_N0SPI[fc]
        model = PUBLISHED_MODEL_N0SPI[fc]
        ax.plot(bws[:len(human)], human, "ks-", mfc="white", label="van de Par & "
                "Kohlrausch (1999)")
        ax.plot(bws[:len(model)], model, "b^--", label="Breebaart et al. (2001b) model")
        amt = [(b, sum(v) / len(v)) for (f, b), v in sorted(AMT_EMUEXP_N0SPI.items())
               if f == fc]
        if amt:
            ax.plot(*zip(*amt, strict=True), "gD", mfc="none",
                    label="AMT 1.4.0 amt_emuexp (3 runs)")
        if rows:
            ax.errorbar([c["bandwidth"] for c in rows], [c["threshold_db"] for c in rows],
                        yerr=[c["std_db"] for c in rows], fmt="ro-", capsize=3,
                        label="torch_amt")
        ax.set_xscale("log")
        ax.set_title(f"{fc:g} Hz")
        ax.set_xlabel("masker bandwidth (Hz)")
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("N0Spi threshold re masker (dB)")
    axes.flat[0].legend(fontsize=7, loc="lower left")
    mode = "quick" if result.get("quick") else "full"
    rms = result.get("rms_vs_published_model_db")
    rms_amt = result.get("rms_vs_amt_emuexp_db")
    fig.suptitle(f"Breebaart et al. (2001b) Fig. 3, {mode} run"
                 + (f"; RMS vs published model {rms:.1f} dB" if rms is not None else "")
                 + (f", vs AMT 1.4.0 {rms_amt:.1f} dB" if rms_amt is not None else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
