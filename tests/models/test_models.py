"""Model classes: shapes, batching, stages, gradients, float32 accuracy, the Jepsen chain.

The float64 agreement of ``Dau1997`` and ``King2019`` with every stored AMT output is
checked by the validation harness (``tests/validation``); here:

* ``Jepsen2008`` against the ``jepsen2008chain__*`` files stage by stage (AMT has no
  runnable ``jepsen2008()``; the files record the AMT calls that define it). Tolerance:
  1e-9 relative, or 10x AMT's measured DRNL conditioning floor (README, "Numerical
  conditioning": 7e-9 at 87 Hz for the jepsen2008 parameters) -> 1e-7 on the steps
  after the DRNL, whose low channels carry that floor.
* float32 models against the AMT reference: 1e-4 relative to the peak of the whole output
  (single precision, eps 1.2e-7, amplified by the recursive filters and the adaptation
  loops; float32 rounding follows the overall signal scale, so a quiet off-frequency
  channel is judged against the output's peak, not its own).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from torch.autograd import gradcheck

from torch_amt.models.dau1997 import Dau1997
from torch_amt.models.jepsen2008 import Jepsen2008
from torch_amt.models.king2019 import King2019

FS = 16000
SMALL = {
    "dau1997": lambda dtype, **kw: Dau1997(FS, 900, 1100, dtype=dtype, **kw),
    "jepsen2008": lambda dtype, **kw: Jepsen2008(FS, 900, 1100, dtype=dtype, **kw),
    "king2019": lambda dtype, **kw: King2019(FS, 1000, dtype=dtype, **kw),
}


def _flat(out) -> torch.Tensor:
    parts = out if isinstance(out, list) else [out]
    return torch.cat([p.reshape(-1) for p in parts])


def _tone(n: int, level_db: float = 60.0, dboffset: float = 100.0) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) / FS
    x = torch.sin(2 * torch.pi * 1000 * t) * (1 + 0.5 * torch.sin(2 * torch.pi * 16 * t))
    return x / x.pow(2).mean().sqrt() * 10 ** ((level_db - dboffset) / 20)


@pytest.mark.parametrize("name", list(SMALL))
def test_batched_equals_unbatched_and_stage_keys(name):
    model = SMALL[name](torch.float64)
    x = torch.stack([_tone(2000), 0.5 * _tone(2000)])
    batched = model(x, return_stages=True)
    single = model(x[1], return_stages=True)
    assert list(batched) == list(single) and batched and "out" in batched
    for key in batched:
        b, s = batched[key], single[key]
        if isinstance(b, list):
            assert len(b) == len(s) == model.fc.numel()
            for bb, ss in zip(b, s, strict=True):
                assert torch.equal(bb[1], ss)
        else:
            assert torch.equal(b[1], s)


@pytest.mark.parametrize("name", list(SMALL))
def test_output_shapes(name):
    model = SMALL[name](torch.float32)
    out = model(torch.zeros(3, 1600))
    n_out = round(1600 / FS * model.output_fs)
    if name == "king2019":
        assert out.shape == (3, model.fc.numel(), model.mfc.numel(), n_out)
    else:
        assert len(out) == model.fc.numel()
        for ch, mfc in zip(out, model.mfc, strict=True):
            assert ch.shape == (3, mfc.numel(), n_out)
            assert ch.dtype == torch.float32


@pytest.mark.parametrize("name", list(SMALL))
def test_gradcheck_short_input(name):
    model = SMALL[name](torch.float64)
    x = (_tone(48) + 1e-3 * torch.randn(48, dtype=torch.float64,
                                        generator=torch.Generator().manual_seed(0)))
    # the adaptation loops give Jacobian entries up to ~1e5: normalise the output so the
    # finite-difference reference (central differences, eps 1e-7) is accurate to ~1e-7
    scale = _flat(model(x)).abs().max().detach()
    x = x.requires_grad_()
    assert gradcheck(lambda v: _flat(model(v)) / scale, (x,), eps=1e-7, atol=1e-5, rtol=1e-3,
                     fast_mode=True)


@pytest.mark.parametrize("name", list(SMALL))
def test_forward_backward_quarter_second_with_learnable_stages(name):
    model = SMALL[name](torch.float32, learnable=True)
    x = _tone(FS // 4).float().requires_grad_()
    _flat(model(x)).square().mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().max() > 0
    params = list(model.named_parameters())
    assert params, "learnable=True must expose parameters"
    for pname, p in params:
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


def test_learnable_subset_and_bad_name():
    model = Dau1997(FS, 900, 1100, learnable=("adt",))
    names = {n.split(".")[0] for n, _ in model.named_parameters()}
    assert names == {"adt"}
    with pytest.raises(ValueError, match="learnable names unknown stages"):
        Dau1997(FS, 900, 1100, learnable=("drnl",))


def test_king2019_needs_a_frequency_range():
    with pytest.raises(ValueError, match="King2019 needs basef"):
        King2019(FS)


@pytest.mark.parametrize("name", list(SMALL))
def test_bad_input(name):
    model = SMALL[name](torch.float32)
    with pytest.raises(TypeError, match="x must be a floating-point"):
        model(torch.zeros(100, dtype=torch.int16))
    with pytest.raises(ValueError, match=r"x must have shape \(T,\) or \(B, T\)"):
        model(torch.zeros(1, 2, 100))
    with pytest.raises(ValueError, match="NaN"):
        model(torch.full((100,), float("nan")))


# ----------------------------------------------------------------------- AMT reference


def _rel(y: np.ndarray, ref: np.ndarray) -> float:
    scale = np.abs(ref).max()
    err = np.abs(y - ref).max()
    return float(err / scale) if scale > 0 else float(err)


def _rel_cells(out: list[torch.Tensor], refs) -> float:
    """Max error over all channels relative to the peak of the whole reference output."""
    err = max(np.abs(o.double().numpy().T - r).max() for o, r in zip(out, refs, strict=True))
    return float(err / max(np.abs(r).max() for r in refs))


def _jepsen_options(call: str) -> dict:
    """flow / fhigh of the DRNL as the file's own ``call`` states them."""
    opts = {}
    for key in ("flow", "fhigh"):
        match = re.search(rf"'{key}', ([0-9.e+-]+)", call)
        if match:
            opts[key] = float(match.group(1))
    return opts


def _jepsen_files(reference: Path) -> list[Path]:
    files = sorted(reference.glob("jepsen2008chain__*.mat"))
    assert files, f"no jepsen2008chain files in {reference}"
    return files


def test_jepsen2008_matches_amt_chain(amt_reference_dir):
    steps = [("outerear", "step1_outerear"), ("drnl", "step2_drnl"), ("gain", "step3_gain"),
             ("ihc", "step4_ihc"), ("expansion", "step5_expansion"), ("adt", "step6_adt")]
    for path in _jepsen_files(Path(amt_reference_dir)):
        m = scipy.io.loadmat(path)
        fs = float(m["fs"][0, 0])
        # the files store insig = stimulus * 10^((100 - dbspl(1))/20): the level AMT's
        # lopezpoveda2001 (dboffset 93.98) reads as the stimulus' nominal level
        insig = m["insig"][:, 0] if "insig" in m else m["stimulus"][:, 0] * 10 ** (6.02 / 20)
        model = Jepsen2008(fs, dtype=torch.float64, **_jepsen_options(str(m["call"][0])))
        np.testing.assert_allclose(model.fc.numpy(), m["fc"][0], rtol=1e-12)
        stages = model(torch.from_numpy(insig), return_stages=True)
        for key, ref_name in steps:
            y = stages[key].numpy()
            y = y[:, None] if y.ndim == 1 else y.T
            tol = 1e-9 if key == "outerear" else 1e-7
            assert _rel(y, m[ref_name]) <= tol, (path.name, key, _rel(y, m[ref_name]))
        for k, ref in enumerate(m["outsig"][:, 0]):
            assert _rel(stages["out"][k].numpy().T, ref) <= 1e-7, (path.name, "outsig", k)


def test_models_float32_within_1e4(amt_reference_dir):
    reference = Path(amt_reference_dir)
    path = next(iter(sorted(reference.glob("king2019__*tone1k_60dB_fs44k*dboffset100.mat"))))
    m = scipy.io.loadmat(path)
    model = King2019(float(m["fs"][0, 0]), 1000, dboffset=100, dtype=torch.float32)
    out = model(torch.from_numpy(m["stimulus"][:, 0]).float())
    assert _rel(np.moveaxis(out.double().numpy(), -1, 0), m["outsig"]) <= 1e-4

    path = next(iter(sorted(reference.glob("dau1997__tone1k_60dB_fs44k__narrow.mat"))))
    m = scipy.io.loadmat(path)
    fc = m["fc"][0]
    model = Dau1997(float(m["fs"][0, 0]), float(fc[0]), float(fc[-1]), dtype=torch.float32)
    assert np.allclose(model.fc.double().numpy(), fc, rtol=1e-6)
    out = model(torch.from_numpy(m["stimulus"][:, 0]).float())
    assert _rel_cells(out, m["outsig"][:, 0]) <= 1e-4

    path = _jepsen_files(reference)[0]
    m = scipy.io.loadmat(path)
    model = Jepsen2008(float(m["fs"][0, 0]), dtype=torch.float32,
                       **_jepsen_options(str(m["call"][0])))
    out = model(torch.from_numpy(m["insig"][:, 0]).float())
    assert _rel_cells(out, m["outsig"][:, 0]) <= 1e-4
