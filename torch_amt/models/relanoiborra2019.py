"""Relaño-Iborra et al. (2019) speech-based CASP model (sCASP), AMT 1.4.0 ``relanoiborra2019``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from torch_amt import _checks
from torch_amt.levels import DBSPL_AMT
from torch_amt.models.base import AuditoryModel, Learnable, resolve_learnable
from torch_amt.models.blocks import amt_flag_options
from torch_amt.stages import AdaptLoop, HeadphoneFilter, IHCEnvelope, MiddleEarFilter
from torch_amt.stages.expansion import Expansion
from torch_amt.stages.gain import Gain
from torch_amt.stages.internal_noise import InternalNoise
from torch_amt.stages.relanoiborra2019_drnl import RelanoIborra2019DRNL
from torch_amt.stages.relanoiborra2019_mfbtd import RelanoIborra2019ModulationFilterbank

__all__ = ["RelanoIborra2019"]


class RelanoIborra2019(AuditoryModel):
    """Internal representation of the sCASP model (Relaño-Iborra, Zaar & Dau 2019), AMT
    1.4.0 ``relanoiborra2019_featureextraction`` (the front end of ``relanoiborra2019``).

    The CASP model of Jepsen et al. (2008) adapted to speech: DRNL filterbank, internal
    noise, envelope extraction, expansion, adaptation loops and a modulation filterbank up
    to ~1 kHz at the audio rate. Chain (stage names of
    :data:`~torch_amt.models.base.STAGE_VOCABULARY`; AMT flags in brackets)::

        inputgain      gaindb(insig, dboffset - 93.98): the stages read Pa
        outerear       headphonefilter (not delay-compensated)
        middleear      middleearfilter 'lopezpoveda2001' (not delay-compensated)
        drnl           relanoiborra2019_drnl per channel, erbspace(flow, fhigh, fcnt)
                                                                    [subject NH | HIx]
        gain           +50 dB
        internalnoise  Gaussian noise per channel at AMT's levels     [no_internalnoise]
        ihc            ihcenvelope 'ihc_relanoiborra2019' (HWR, 2nd-order 1-kHz LP) [no_ihc]
        expansion      squaring                                                  [no_an]
        adt            adaptloop 'adt_relanoiborra2019' (limit 10, minspl 2e-7)  [no_an]
        mfb            relanoiborra2019_mfbtd(., 0, 1500, 1, fs) + post-processing

    The model produces internal representations; the back end (the correlation between
    a clean template's and a noisy target's representations, AMT
    ``relanoiborra2019_decision``) is
    :func:`torch_amt.decision.correlation.relanoiborra2019_decision`, and AMT's whole
    ``relanoiborra2019(clean, noisy, fs, 'N_org', N)`` is
    :func:`torch_amt.decision.correlation.relanoiborra2019`.

    Level convention: AMT's model reads sound pressure in Pa (its demo scales speech to
    ``20e-6·10^(L/20)`` rms), i.e. an rms of 1 is 93.98 dB SPL, the default ``dboffset``;
    the adaptation floor is 2e-7. The model expects the signal to be preceded by a copy of
    itself (to settle the adaptation loops; see the back end's ``n_org``).

    Internal noise: the draws come from ``noise_seed``'s ``torch.Generator`` (or the global
    one), or are passed in: ``forward(x, noise_draws=...)`` with standard-normal draws of
    shape ``(F, T)`` / ``(B, F, T)`` (AMT draws ``randn(T, 1)`` per channel; the reference
    files store Octave's draws). The noise is tiny (-72 ... -103 dB).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    flow, fhigh : float
        Lowest / highest centre frequency in Hz (AMT 100, 8000). ``fhigh=None``: 8000 Hz,
        or the highest channel the DRNL can compute at ``fs`` where that is lower (7788 Hz
        at 16 kHz).
    fcnt : int
        Number of channels, ERB-spaced (AMT ``fcnt`` 60; at most 60 with internal noise).
    above_nyquist : bool
        Accept channels whose DRNL filters reach fs/2, designed with AMT's formulas
        (aliased), as AMT does with ``fhigh=8000`` at 16 kHz. Default False: a ValueError.
    subject : {'NH', 'HIx'}
        DRNL profile (AMT ``subject``): normal hearing, or the example hearing-impaired
        listener without compression.
    dboffset : float
        Level of an rms of 1 in dB SPL (default 93.98: input in Pa; AMT's ``dboffset``
        keyval is never used by AMT).
    internal_noise : bool
        Add the internal noise (AMT ``'internalnoise'``, default) or not
        (``'no_internalnoise'``).
    noise_seed : int, optional
        Seed of the internal noise's generator (reproducible draws); None: the global
        generator.
    ihc : bool
        Envelope extraction (AMT ``'ihc'`` / ``'no_ihc'``).
    an : bool
        Expansion and adaptation (AMT ``'an'`` / ``'no_an'``).
    learnable : bool or iterable of str
        ``True`` makes the adaptation time constants and the modulation filters learnable
        (not in AMT), or name the stages: a subset of ``{'adt', 'mfb'}``. A learnable
        modulation low-pass is redesigned with ``butter`` (equal to mfbtd's to ~1e-16).
    dtype : torch.dtype
        dtype of the stages' parameters (float64 reproduces AMT to ~1e-12).

    Shape
    -----
    Input ``(T,)`` or ``(B, T)``. Output ``(B, F, M, T)`` (``(F, M, T)`` for 1-D input;
    AMT's ``time x channel x fmod``, time last), M = 12 modulation filters (``mfc``).
    ``forward(x, return_stages=True)`` returns every stage's output by chain name and
    ``'out'``; ``'adt'`` is AMT's ``outsig_afb`` (the model's ``clean.afb``).

    References
    ----------
    H. Relaño-Iborra, J. Zaar, and T. Dau, "A speech-based computational auditory signal
    processing and perception model," J. Acoust. Soc. Am. 146(5), 3306–3317 (2019).
    M. L. Jepsen, S. D. Ewert, and T. Dau, "A computational model of human auditory
    signal processing and perception," J. Acoust. Soc. Am. 124(1), 422–438 (2008).
    """

    amt_function = "relanoiborra2019"
    description = ("Relaño-Iborra et al. (2019) sCASP: DRNL, internal noise, adaptation, "
                   "modulation filterbank to 1 kHz; correlation back end in torch_amt.decision")
    output_kind = "fcmt"

    def __init__(self, fs: float, flow: float = 100.0, fhigh: float | None = None, *,
                 fcnt: int = 60, subject: str = "NH", above_nyquist: bool = False,
                 dboffset: float = DBSPL_AMT,
                 internal_noise: bool = True, noise_seed: int | None = None,
                 ihc: bool = True, an: bool = True, learnable: Learnable = False,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__(fs, dboffset)
        learn = resolve_learnable(learnable, ("adt", "mfb"))
        internal_noise = _checks.check_bool(internal_noise, "internal_noise")
        ihc, an = _checks.check_bool(ihc, "ihc"), _checks.check_bool(an, "an")
        fs = self.fs
        drnl = RelanoIborra2019DRNL(fs, flow, fhigh, fcnt=fcnt, subject=subject,
                                    above_nyquist=above_nyquist, dtype=dtype)
        self.set_chain([
            ("inputgain", Gain(self.dboffset - DBSPL_AMT)),
            ("outerear", HeadphoneFilter(fs, compensate_delay=False, dtype=dtype)),
            ("middleear", MiddleEarFilter(fs, "lopezpoveda2001", compensate_delay=False,
                                          dtype=dtype)),
            ("drnl", drnl),
            ("gain", Gain(50.0)),
            ("internalnoise", InternalNoise(drnl.num_channels, seed=noise_seed)
             if internal_noise else None),
            ("ihc", IHCEnvelope(fs, "ihc_relanoiborra2019", dtype=dtype) if ihc else None),
            ("expansion", Expansion(2.0) if an else None),
            ("adt", AdaptLoop(fs, preset="adt_relanoiborra2019", learnable="adt" in learn,
                              dtype=dtype) if an else None),
            ("mfb", RelanoIborra2019ModulationFilterbank(fs, drnl.fc, learnable="mfb" in learn,
                                                         dtype=dtype)),
        ])

    def forward(self, x: torch.Tensor, return_stages: bool = False, *,
                noise_draws: torch.Tensor | None = None,
                generator: torch.Generator | None = None):
        """Run the model on ``x (T,)`` or ``(B, T)`` (see the class docstring).

        Parameters
        ----------
        x : Tensor, shape (T,) or (B, T)
            Input; an rms of 1 is ``dboffset`` dB SPL (Pa by default).
        return_stages : bool
            Return the dict of every stage's output and ``'out'``.
        noise_draws : Tensor, shape (F, T) or (B, F, T), optional
            Standard-normal draws for the internal noise (scaled to its levels), instead
            of drawing; e.g. AMT's ``randn`` values.
        generator : torch.Generator, optional
            Generator for this call's internal noise.
        """
        if "internalnoise" not in self.chain:
            if noise_draws is not None or generator is not None:
                raise ValueError("noise_draws/generator given but the internal noise is off "
                                 "(internal_noise=False)")
            return super().forward(x, return_stages)
        with self.internalnoise.using(noise_draws, generator):
            return super().forward(x, return_stages)

    @property
    def mfc(self) -> torch.Tensor:
        """Modulation centre frequencies in Hz, shape ``(M,)`` (AMT ``fc_mod``)."""
        return self.mfb.mfc

    @classmethod
    def amt_options(cls, flags: Sequence[str], keyvals: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for AMT ``relanoiborra2019_featureextraction(insig, fs, ...)``.

        Keys: ``flow``, ``fhigh``, ``fcnt``, ``subject`` (``N_org`` belongs to the back end
        and is ignored here; ``dboffset`` is accepted and ignored, as AMT never reads it).
        Flags: ``[no_]internalnoise``, ``[no_]ihc``, ``[no_]an``, ``erbspace``,
        ``no_debug``/``debug``.
        """
        keyvals = dict(keyvals)
        subject = keyvals.pop("subject", None)
        opts = amt_flag_options(
            "relanoiborra2019", flags, keyvals, keys=("flow", "fhigh", "fcnt"),
            on_off=("internalnoise", "ihc", "an"), groups=(),
            ignored_keys=("N_org", "dboffset"),
            ignored_flags=("erbspace", "no_debug", "debug"), nullable=())
        if "fcnt" in opts:
            opts["fcnt"] = int(opts["fcnt"])
        if "internalnoise" in opts:
            opts["internal_noise"] = opts.pop("internalnoise")
        if subject is not None:
            opts["subject"] = subject
        return opts
