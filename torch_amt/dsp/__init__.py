"""Signal-processing kernels with no auditory knowledge: the IIR kernel (``lfilter``,
``sosfilt``, the fused filterbank readout ``lfilter_envelope``, its backend selection, and
a double-double twin for ill-conditioned filters), FFT convolution and resampling, filter
design, FIR design, the Hilbert transform and the adaptation-loop recurrence.
:mod:`torch_amt.dsp.profiling` times the compiled kernels; :mod:`torch_amt.dsp.memory`
keeps freed memory in the process for repeated large batches (opt-in)."""

from torch_amt.dsp.design import butter, freqz, octave_butter, poly
from torch_amt.dsp.extended import lfilter_double_double
from torch_amt.dsp.fft import fftconvolve, fftresample
from torch_amt.dsp.filtfilt import octave_filtfilt
from torch_amt.dsp.fir import fir2, minimum_phase
from torch_amt.dsp.hilbert import hilbert
from torch_amt.dsp.iir import (
    get_backend,
    lfilter,
    lfilter_envelope,
    resolve_backend,
    sosfilt,
    use_backend,
)
from torch_amt.dsp.memory import release_freed_memory, retain_freed_memory, retained_memory

__all__ = [
    "butter",
    "fftconvolve",
    "fftresample",
    "fir2",
    "freqz",
    "get_backend",
    "hilbert",
    "lfilter",
    "lfilter_double_double",
    "lfilter_envelope",
    "minimum_phase",
    "octave_filtfilt",
    "octave_butter",
    "poly",
    "release_freed_memory",
    "resolve_backend",
    "retain_freed_memory",
    "retained_memory",
    "sosfilt",
    "use_backend",
]
