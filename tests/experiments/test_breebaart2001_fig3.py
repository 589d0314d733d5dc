"""The CI-sized Breebaart et al. (2001b) Fig. 3 run (``torch-amt experiment
breebaart2001_fig3 --quick``) end to end: it finishes, writes the JSON and the figure, and
its thresholds show the model's masking release with bandwidth. Deterministic (seeded).
The full figure is not run here (tens of minutes); its numbers are in
``docs/experiments.rst``."""

from __future__ import annotations

import json
import math

from torch_amt.cli import main
from torch_amt.experiments.breebaart2001 import AMT_EMUEXP_N0SPI, QUICK_BANDWIDTHS


def test_quick_fig3_runs_and_shows_the_masking_release(tmp_path):
    out, fig = tmp_path / "fig3.json", tmp_path / "fig3.png"
    assert main(["experiment", "breebaart2001_fig3", "--quick", "--json", str(out),
                 "--plot", str(fig)]) == 0
    result = json.loads(out.read_text())
    assert result["experiment"] == "breebaart2001_fig3" and result["quick"]
    rows = {(c["fc"], c["bandwidth"]): c for c in result["conditions"]}
    assert len(rows) == 16 and set(rows) == set(AMT_EMUEXP_N0SPI)
    assert {b for _, b in rows} == set(QUICK_BANDWIDTHS)
    for c in rows.values():
        assert math.isfinite(c["threshold_db"]) and -45 < c["threshold_db"] < 30
        assert c["amt_emuexp_db"] is not None and c["published_model_db"] is not None
    for key in ("rms_vs_published_model_db", "rms_vs_human_db", "rms_vs_amt_emuexp_db"):
        assert math.isfinite(result[key]) and result[key] > 0
    # N0Spi thresholds fall as the masker widens beyond the critical band (Breebaart et
    # al. 2001b; AMT: -18.2 -> -25.0 dB at 500 Hz, -14.2 -> -20.2 dB at 1 kHz)
    for fc in (500.0, 1000.0):
        assert rows[(fc, 1000.0)]["threshold_db"] < rows[(fc, 10.0)]["threshold_db"] - 3
    assert fig.stat().st_size > 10_000
