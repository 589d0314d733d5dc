"""The base class of every model: an ordered chain of named stages from one vocabulary."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from torch_amt import _checks

__all__ = ["STAGE_VOCABULARY", "AuditoryModel", "Learnable", "resolve_learnable"]

Learnable = bool | Iterable[str]

STAGE_VOCABULARY: dict[str, str] = {
    "inputgain": "level convention: gain of dboffset − 100 dB (AMT gaindb), so that the "
                 "stages after it see AMT's 100-dB convention",
    "inputresample": "resampling of the input to a model's internal rate (Octave resample in "
                     "AMT glasberg2002)",
    "outerear": "outer-ear / headphone FIR (AMT headphonefilter)",
    "middleear": "middle-ear FIR (AMT middleearfilter)",
    "outermiddle": "combined outer- and middle-ear filter (AMT breebaart2001_outmiddlefilter; "
                   "glasberg2002's fir2 design run by filtfilt)",
    "afb": "auditory filterbank of gammatones (AMT auditoryfilterbank / gammatone)",
    "drnl": "dual-resonance nonlinear filterbank (AMT lopezpoveda2001)",
    "gain": "a fixed gain inside the chain (AMT gaindb)",
    "internalnoise": "Gaussian noise of a fixed level added per auditory channel (AMT "
                     "relanoiborra2019_featureextraction 'internalnoise')",
    "compression": "instantaneous compression (AMT king2019 compression_*)",
    "ihc": "inner-hair-cell envelope extraction (AMT ihcenvelope)",
    "expansion": "power-law expansion after the IHC (squaring in AMT jepsen2008)",
    "adt": "adaptation (AMT adaptloop, or King2019's high-pass)",
    "resample": "resampling to the model's output rate (LTFAT fftresample)",
    "mfb": "modulation filterbank (AMT modfilterbank / king2019_modfilterbank)",
    "eicell": "binaural excitation-inhibition cells comparing the two ears at characteristic "
              "delays and level differences (AMT breebaart2001_eicell)",
    "spectrum": "short-time power spectrum per block (AMT glasberg2002: six Hann windows)",
    "excitation": "excitation pattern in ERB bands (AMT glasberg2002)",
    "specificloudness": "specific loudness per ERB band (AMT glasberg2002)",
    "loudness": "instantaneous, short-term and long-term loudness (AMT glasberg2002)",
}
"""The stage names a model's chain may use: one name per kind of stage, the same in every
model, in the order they appear in a chain. ``forward(x, return_stages=True)`` returns
the output of each stage under its name, and the model's output as ``'out'``."""


def resolve_learnable(learnable: Learnable, stages: Sequence[str]) -> frozenset[str]:
    """The set of stage names made learnable by a model's ``learnable`` argument.

    ``True`` means every stage in ``stages``, ``False`` none; a name or an iterable of
    names selects those stages.
    """
    if isinstance(learnable, bool):
        return frozenset(stages) if learnable else frozenset()
    if isinstance(learnable, str):
        names = frozenset([learnable])
    elif isinstance(learnable, Iterable):
        names = frozenset(learnable)
    else:
        raise TypeError(f"learnable must be True, False, a stage name or an iterable of stage "
                        f"names from {list(stages)}, got {learnable!r}")
    unknown = names - set(stages)
    if unknown:
        raise ValueError(f"learnable names unknown stages {sorted(unknown)}; choose from "
                         f"{list(stages)} (or pass True/False)")
    return names


class AuditoryModel(nn.Module):
    """A published auditory model: an ordered chain of named stages.

    A subclass builds its stages in ``__init__`` and hands them to :meth:`set_chain`
    under names from :data:`STAGE_VOCABULARY`; the base class runs them in order, checks
    the input, handles a missing batch axis, records every stage's output on request and
    prints the chain with each stage's AMT equivalent. A new model is a docstring, the
    AMT flag defaults (its keyword arguments) and the chain.

    Class attributes
    ----------------
    amt_function : str
        Name of the model in AMT (and on the command line).
    description : str
        One line for ``torch-amt models``.
    output_kind : {'modulation_list', 'fcmt', 'fct', 'loudness'}
        Layout of the output: a list of ``F`` tensors ``(B, M_f, T)`` (Dau/Jepsen), one
        ``(B, F, M, T)`` tensor (King2019), ``(B, F, T)`` without modulation stage, or
        loudness curves ``(B, 3, T)`` (instantaneous, short-term, long-term; Glasberg2002).
    binaural : bool
        ``True`` for a model of both ears (Breebaart2001): its input is ``(2, T)`` or
        ``(B, 2, T)`` (left, right) and it overrides :meth:`forward`; ``False`` (default)
        for a monaural model, input ``(T,)`` or ``(B, T)``.

    Attributes
    ----------
    fs : float
        Sampling rate of the input in Hz.
    dboffset : float
        Level convention of the input: an rms of 1 is ``dboffset`` dB SPL.
    chain : tuple of str
        The stage names in processing order; each stage is the attribute of that name.
    """

    amt_function: ClassVar[str] = ""
    description: ClassVar[str] = ""
    output_kind: ClassVar[str] = "modulation_list"
    binaural: ClassVar[bool] = False

    def __init__(self, fs: float, dboffset: float) -> None:
        super().__init__()
        self.fs = _checks.check_fs(fs)
        self.dboffset = _checks.check_number(dboffset, "dboffset")
        self.chain: tuple[str, ...] = ()

    def set_chain(self, stages: Sequence[tuple[str, nn.Module | None]]) -> None:
        """Register the processing chain: ``(name, stage)`` pairs in order.

        A ``None`` stage is left out of the chain (a stage switched off by a flag) and its
        attribute is ``None``.
        """
        names = []
        for name, stage in stages:
            if name not in STAGE_VOCABULARY:
                raise ValueError(f"stage name {name!r} is not in the stage vocabulary "
                                 f"{list(STAGE_VOCABULARY)}")
            if name in names:
                raise ValueError(f"stage name {name!r} appears twice in the chain")
            setattr(self, name, stage)
            if stage is not None:
                names.append(name)
        self.chain = tuple(names)

    def stages(self) -> Iterator[tuple[str, nn.Module]]:
        """The ``(name, stage)`` pairs of the chain, in processing order."""
        return ((name, getattr(self, name)) for name in self.chain)

    @property
    def filterbank(self) -> nn.Module:
        """The auditory filterbank stage (``'afb'`` or ``'drnl'``)."""
        for name in ("afb", "drnl"):
            if name in self.chain:
                return getattr(self, name)
        raise AttributeError(f"{type(self).__name__} has no auditory filterbank stage")

    @property
    def fc(self) -> torch.Tensor:
        """Centre frequencies of the auditory channels in Hz, shape ``(F,)``."""
        return self.filterbank.fc

    @property
    def mfc(self) -> list[torch.Tensor] | torch.Tensor:
        """Modulation centre frequencies in Hz: a list with one tensor per auditory
        channel (Dau/Jepsen banks), one ``(M,)`` tensor (King2019), or ``[]`` without a
        modulation stage."""
        if "mfb" not in self.chain:
            return []
        mfc = self.mfb.mfc
        return list(mfc) if isinstance(mfc, list | tuple) else mfc

    @property
    def output_fs(self) -> float:
        """Sampling rate of the output in Hz (changed by a ``'resample'`` stage)."""
        fs = self.fs
        for _, stage in self.stages():
            fs = float(getattr(stage, "output_fs", fs))
        return fs

    def forward(self, x: torch.Tensor, return_stages: bool = False):
        """Run the model on ``x (T,)`` or ``(B, T)``.

        Parameters
        ----------
        x : Tensor, shape (T,) or (B, T)
            Input signal; an rms of 1 is ``dboffset`` dB SPL.
        return_stages : bool
            Return a dict of every stage's output under its chain name and the final
            output as ``'out'`` (like AMT's ``step`` struct), instead of the output.

        Returns
        -------
        Output as the model's docstring describes (no batch axis for a 1-D input), or the
        dict of stage outputs.
        """
        return_stages = _checks.check_bool(return_stages, "return_stages")
        x = _checks.check_signal(x, "x", dim_names="(T,) or (B, T)")
        _checks.check_module_input(self, x)
        x, unbatched = _checks.batched(x, 1)
        record: dict[str, Any] = {}
        y: Any = x
        for name, stage in self.stages():
            y = stage(y)
            if return_stages:
                record[name] = y
        record["out"] = y
        if unbatched:
            record = _unbatch(record)
        return record if return_stages else record["out"]

    def stream_refusal(self) -> str | None:
        """Why the model cannot process a signal chunk by chunk (naming the first stage
        that is not causal), or None if :meth:`stream` can."""
        for name, stage in self.stages():
            refusal = getattr(stage, "stream_refusal", None)
            reason = ("it declares no streaming interface" if refusal is None
                      else refusal())
            if reason is not None:
                return f"stage {name!r} ({type(stage).__name__}): {reason}"
        return None

    def stream(self, x: torch.Tensor, state: dict[str, Any] | None = None):
        """Run the model on one chunk of a long signal, continuing from ``state``.

        Every stage runs its :meth:`~torch_amt.stages.base.Stage.stream`; the outputs of
        successive chunks, concatenated along time
        (:func:`torch_amt.dsp.streaming.concat_time`), equal :meth:`forward` on the whole
        signal (float64: ≤ 1e-12 relative), for any chunk sizes, so memory is bounded by
        the chunk, not the signal.

        Parameters
        ----------
        x : Tensor, shape (T_chunk,) or (B, T_chunk)
            The chunk (same batch size for every chunk).
        state : dict, optional
            Returned with the previous chunk (opaque); None for the first chunk.

        Returns
        -------
        out
            The model's output for the chunk (as :meth:`forward`).
        state : dict
            Pass it with the next chunk.

        Raises
        ------
        NotStreamableError
            If a stage is not causal (:meth:`stream_refusal` names it and says why).
        """
        from torch_amt.dsp.streaming import NotStreamableError

        reason = self.stream_refusal()
        if reason is not None:
            raise NotStreamableError(f"{type(self).__name__} cannot process a signal chunk by "
                                     f"chunk: {reason}")
        x = _checks.check_signal(x, "x", dim_names="(T,) or (B, T)")
        _checks.check_module_input(self, x)
        x, unbatched = _checks.batched(x, 1)
        state = {} if state is None else state
        new_state: dict[str, Any] = {}
        y: Any = x
        for name, stage in self.stages():
            y, new_state[name] = stage.stream(y, state.get(name))
        return (_unbatch({"out": y})["out"] if unbatched else y), new_state

    def to_xarray(self, out, **kwargs):
        """The output ``out`` of this model as a labelled :class:`xarray.Dataset`.

        See :func:`torch_amt.xr.to_xarray` (needs the ``corpus`` extra: ``xarray``).
        """
        from torch_amt.xr import to_xarray

        return to_xarray(self, out, **kwargs)

    def extra_repr(self) -> str:
        return f"fs={self.fs:g}, dboffset={self.dboffset:g}, output_fs={self.output_fs:g}"

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()})  [AMT {self.amt_function}]"]
        width = max((len(name) for name in self.chain), default=0) + 2
        cls_width = max((len(type(stage).__name__) for _, stage in self.stages()), default=0)
        for name, stage in self.stages():
            amt = stage.amt_equivalent() if hasattr(stage, "amt_equivalent") else ""
            head = f"  {'(' + name + ')':<{width}} {type(stage).__name__:<{cls_width}}"
            lines.append(f"{head}  ~ AMT {amt}".rstrip() if amt else head.rstrip())
            if stage.extra_repr():
                lines.append(" " * (width + 3) + stage.extra_repr())
        return "\n".join(lines)

    @classmethod
    def amt_options(cls, flags: Sequence[str], keyvals: Mapping[str, Any]) -> dict[str, Any]:
        """This class's keyword arguments for an AMT call's flags and key-value pairs.

        Parameters
        ----------
        flags : sequence of str
            The AMT flags of the call (e.g. ``'no_mfb'``, ``'mfb_jepsen2008'``).
        keyvals : mapping
            The AMT key-value pairs and optional positional arguments by AMT name.

        Raises
        ------
        ValueError
            For a flag or key the model does not implement.
        """
        raise NotImplementedError(f"{cls.__name__} has no AMT flag translation")


def _unbatch(record: dict[str, Any]) -> dict[str, Any]:
    """Drop the batch axis added to a 1-D input from every recorded output (lists too)."""
    return {name: [v[0] for v in value] if isinstance(value, list | tuple) else value[0]
            for name, value in record.items()}
