"""Signal-processing kernels with no auditory knowledge: IIR filtering, FFT convolution,
filter design."""

from torch_amt.dsp.iir import lfilter, sosfilt, use_backend

__all__ = ["lfilter", "sosfilt", "use_backend"]
