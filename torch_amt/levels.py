"""Sound pressure levels and AMT's level convention (``dboffset``).

AMT maps digital amplitudes to sound pressure through one number, ``dboffset``: a signal
whose rms is 1 has a level of ``dboffset`` dB SPL, so a signal of rms ``r`` has
``20*log10(r) + dboffset`` dB SPL. AMT 1.4.0's default is ``dbspl(1) = 93.98``
(hard-coded in ``dbspl.m``; the exact value for pascal-valued signals, 20·log10(1/20e-6)
= 93.9794 dB, is what its ``scaletodbspl`` uses). Some models assume their own value,
e.g. ``dau1997`` 100 dB. Functions here work along the last axis (time), like every
signal in torch_amt.

References
----------
AMT 1.4.0 ``common/dbspl.m``, ``common/scaletodbspl.m``; LTFAT 2.5.0 ``sigproc/rms.m``,
``sigproc/gaindb.m``. B. C. J. Moore, *An Introduction to the Psychology of Hearing*,
5th ed., Academic Press (2003).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from torch_amt._checks import check_number

__all__ = [
    "DBSPL_AMT",
    "DBSPL_PASCAL",
    "dbspl",
    "dbspl_to_rms",
    "gaindb",
    "rescale_dboffset",
    "rms",
    "rms_to_dbspl",
    "scaletodbspl",
    "setdbspl",
]

DBSPL_AMT = 93.98
"""AMT 1.4.0's default ``dboffset``: ``dbspl(1)``, the level (dB SPL) of an rms of 1.

Hard-coded as 93.98 in AMT's ``dbspl.m``; it is 20·log10(1/20e-6) = 93.97940 (1 Pa rms
re 20 µPa) rounded to two decimals, see :data:`DBSPL_PASCAL`.
"""

DBSPL_PASCAL = -20 * math.log10(20e-6)
"""20·log10(1/20e-6) = 93.9794 dB: the level of 1 Pa rms re 20 µPa.

AMT 1.4.0's ``scaletodbspl`` uses this value as its default ``dboffset`` (not 93.98).
"""


def _db_factor(value_db: float, name: str) -> float:
    """``10**(value_db/20)``; a ``ValueError`` naming ``name`` where that overflows float64."""
    try:
        return math.pow(10.0, value_db / 20)
    except OverflowError:
        raise ValueError(f"{name} = {value_db} dB is an amplitude factor beyond float64 "
                         f"(10**({value_db}/20)); dB values must stay below about "
                         "6165 dB") from None


def _signal(x: torch.Tensor | float, name: str = "x") -> torch.Tensor:
    """``x`` as a tensor with a time axis: numbers and 0-d tensors become length 1."""
    if not isinstance(x, (torch.Tensor, np.ndarray, int, float, complex, np.number)) or \
            isinstance(x, bool):
        raise TypeError(f"{name} must be a floating-point tensor, NumPy array or number, "
                        f"got {type(x).__name__}")
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=torch.float64)
    if not (t.is_floating_point() or t.is_complex()):
        raise TypeError(f"{name} must be a floating-point or complex tensor, got {t.dtype}")
    if t.ndim == 0:
        t = t.reshape(1)
    if t.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one sample along its last axis")
    return t


def rms(x: torch.Tensor | float, ac: bool = False) -> torch.Tensor:
    """Root mean square along the last axis, LTFAT ``rms``.

    Parameters
    ----------
    x : Tensor, shape (..., T), or a number
        Signal (real or complex); a number is a signal of one sample.
    ac : bool, default False
        Remove the mean first (LTFAT flag ``'ac'``).

    Returns
    -------
    Tensor, shape (...)
        ``||x|| / sqrt(T)`` (real).
    """
    t = _signal(x)
    if ac:
        t = t - t.mean(dim=-1, keepdim=True)
    return torch.linalg.vector_norm(t, dim=-1) / math.sqrt(t.shape[-1])


def dbspl(
    x: torch.Tensor | float, dboffset: float = DBSPL_AMT, ac: bool = False
) -> torch.Tensor:
    """Sound pressure level of a signal in dB SPL, AMT ``dbspl``.

    ``20*log10(rms(x)) + dboffset`` along the last axis. ``dbspl(1.0)`` is ``dboffset``
    (AMT's ``dbspl(1)``); silence gives ``-inf``.

    Parameters
    ----------
    x : Tensor, shape (..., T), or a number
        Signal in the ``dboffset`` convention (a number: the rms/linear level itself).
    dboffset : float, default :data:`DBSPL_AMT` (93.98)
        Level in dB SPL of an rms of 1.
    ac : bool, default False
        Use the rms of the signal without its mean (AMT flag ``'ac'``).

    Returns
    -------
    Tensor, shape (...)
        Level in dB SPL.
    """
    dboffset = check_number(dboffset, "dboffset")
    return 20 * torch.log10(rms(x, ac=ac)) + dboffset


def rms_to_dbspl(rms_value: torch.Tensor | float, dboffset: float = DBSPL_AMT) -> torch.Tensor:
    """Level in dB SPL of an rms amplitude: ``20*log10(|rms_value|) + dboffset``.

    Parameters
    ----------
    rms_value : Tensor or float, any shape
        Rms amplitude(s) in the ``dboffset`` convention.
    dboffset : float, default 93.98
        Level in dB SPL of an rms of 1.

    Returns
    -------
    Tensor, same shape as ``rms_value``
        Levels in dB SPL.
    """
    dboffset = check_number(dboffset, "dboffset")
    r = (rms_value if isinstance(rms_value, torch.Tensor)
         else torch.tensor(check_number(rms_value, "rms_value", finite=False),
                           dtype=torch.float64))
    return 20 * torch.log10(torch.abs(r)) + dboffset


def dbspl_to_rms(level: torch.Tensor | float, dboffset: float = DBSPL_AMT) -> torch.Tensor:
    """Rms amplitude of a signal at ``level`` dB SPL: ``10**((level - dboffset)/20)``.

    AMT: ``scaletodbspl(level, [], dboffset)`` (e.g. ``dbspl_to_rms(0, 100) = 1e-5``, the
    floor of ``adaptloop``).

    Parameters
    ----------
    level : Tensor or float, any shape
        Level(s) in dB SPL.
    dboffset : float, default 93.98
        Level in dB SPL of an rms of 1.

    Returns
    -------
    Tensor, same shape as ``level``
        Rms amplitude(s).
    """
    dboffset = check_number(dboffset, "dboffset")
    if isinstance(level, torch.Tensor):
        return torch.pow(10.0, (level - dboffset) / 20)
    level = check_number(level, "level", finite=False)
    return torch.tensor(_db_factor(level - dboffset, "level - dboffset"), dtype=torch.float64)


def gaindb(x: torch.Tensor, gain_db: torch.Tensor | float) -> torch.Tensor:
    """Amplify a signal by ``gain_db`` decibels, LTFAT ``gaindb``.

    ``x * 10**(gain_db/20)``.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal(s).
    gain_db : float or Tensor, shape () or broadcastable to (...)
        Gain in dB: one number, or one gain per signal (row) of ``x`` (LTFAT: one gain
        per column).

    Returns
    -------
    Tensor, shape (..., T)
        Scaled signal.

    Raises
    ------
    ValueError
        If ``gain_db`` is NaN or +inf.
    """
    x = _signal(x)
    if not isinstance(gain_db, torch.Tensor):
        gain = check_number(gain_db, "gain_db", finite=False)
        if math.isnan(gain) or gain == math.inf:
            raise ValueError(f"gain_db must be a number below +inf, got {gain}")
        return x * _db_factor(gain, "gain_db")
    if bool(torch.isnan(gain_db).any()) or bool((gain_db == math.inf).any()):
        raise ValueError("gain_db must not contain NaN or +inf")
    factor = torch.pow(10.0, gain_db.to(x.real.dtype) / 20)
    if factor.ndim > 0:
        factor = factor.unsqueeze(-1)
    return x * factor


def rescale_dboffset(x: torch.Tensor, from_dboffset: float, to_dboffset: float) -> torch.Tensor:
    """Re-express a signal in another level convention, keeping its physical level.

    A signal of rms ``r`` is ``20*log10(r) + from_dboffset`` dB SPL; the returned signal
    has that level in the ``to_dboffset`` convention: ``x * 10**((from - to)/20)``.
    AMT example: ``stimulus * 10^((100 - dbspl(1))/20)`` is
    ``rescale_dboffset(stimulus, 100, DBSPL_AMT)``.

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal in the ``from_dboffset`` convention.
    from_dboffset, to_dboffset : float
        Levels in dB SPL of an rms of 1 before and after.

    Returns
    -------
    Tensor, shape (..., T)
        Rescaled signal.
    """
    from_dboffset = check_number(from_dboffset, "from_dboffset")
    to_dboffset = check_number(to_dboffset, "to_dboffset")
    return _signal(x) * _db_factor(from_dboffset - to_dboffset, "from_dboffset - to_dboffset")


def setdbspl(
    x: torch.Tensor, level: float, dboffset: float = DBSPL_AMT, ac: bool = False
) -> torch.Tensor:
    """Scale every signal to ``level`` dB SPL: ``x / rms(x) * 10**((level - dboffset)/20)``.

    The rms is taken along the last axis, so each row of ``x (..., T)`` gets the level
    (AMT: each column). A silent row raises a ``ValueError`` (AMT returns NaN, 0/0).

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal(s).
    level : float
        Target level in dB SPL; ``-inf`` gives zeros.
    dboffset : float, default :data:`DBSPL_AMT` (93.98)
        Level in dB SPL of an rms of 1.
    ac : bool, default False
        Measure the rms without the mean (the mean is not removed from the output).

    Returns
    -------
    Tensor, shape (..., T)
        Scaled signal, ``dbspl(result, dboffset) == level``.

    Raises
    ------
    ValueError
        If ``level`` is NaN or +inf, ``dboffset`` is not finite, or a row of ``x`` is
        silent.
    """
    x = _signal(x)
    level = check_number(level, "level", finite=False)
    dboffset = check_number(dboffset, "dboffset")
    if level == math.inf:
        raise ValueError(f"level must be a number below +inf dB SPL, got {level}")
    if level == -math.inf:
        return torch.zeros_like(x)
    r = rms(x, ac=ac)
    if bool((r == 0).any()):
        raise ValueError("x contains a silent signal (rms 0 along the last axis): its level "
                         "cannot be set (AMT would return NaN)")
    return x / r.unsqueeze(-1) * _db_factor(level - dboffset, "level - dboffset")


def scaletodbspl(
    x: torch.Tensor, level: float, dboffset: float = DBSPL_PASCAL, ac: bool = False
) -> torch.Tensor:
    """AMT 1.4.0 ``scaletodbspl(x, level, dboffset)``: :func:`setdbspl` with AMT's default.

    Identical to :func:`setdbspl` except for the default ``dboffset``, which in AMT
    1.4.0's ``scaletodbspl`` is 20·log10(1/20e-6) = 93.9794 (:data:`DBSPL_PASCAL`), not
    ``dbspl(1) = 93.98``: without ``dboffset`` the result is 0.0006 dB louder than
    ``dbspl`` measures. (AMT returns zeros also for ``level = +inf``; here that raises.)

    Parameters
    ----------
    x : Tensor, shape (..., T)
        Signal(s).
    level : float
        Target level in dB SPL.
    dboffset : float, default :data:`DBSPL_PASCAL`
        Level in dB SPL of an rms of 1.
    ac : bool, default False
        Measure the rms without the mean.

    Returns
    -------
    Tensor, shape (..., T)
        Scaled signal.
    """
    return setdbspl(x, level, dboffset=dboffset, ac=ac)
