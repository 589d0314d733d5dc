% Put AMT 1.4.0 and LTFAT 2.5.0 on Octave's path without amt_start (no downloads, no
% configuration). Environment: AMT_DIR (amtoolbox-full-1.4.0), LTFAT_DIR (ltfat v2.5.0),
% SHIM_DIR (this folder's shim/, with comp_adaptloop.mex compiled there, see README.md).
% torch_amt: GPL-3.0-or-later.
warning('off', 'all');
pkg load signal;                      % before LTFAT: LTFAT's rms must shadow signal's
addpath(getenv('LTFAT_DIR')); ltfatstart(0);
amt = getenv('AMT_DIR');
addpath(amt);
for d = {'common', 'core', 'defaults', 'models', 'modelstages', 'signals', 'experiments', ...
         'mex', 'data'}
  addpath(genpath(fullfile(amt, d{1})));
end
addpath(getenv('SHIM_DIR'));          % first on the path: amt_disp stand-in, compiled mex
