% One condition of AMT 1.4.0 exp_breebaart2001('b_fig3'), run with AMT's own amt_emuexp:
% the same expinit/modelinit/decisioninit/signalinit settings as exp_breebaart2001.m
% (3-AFC, 2-down-1-up, start 65 dB, step 8 dB halved every 2 reversals down to 1 dB, 8
% reversals at 1 dB; breebaart2001 at 32 kHz, tau = 0, ild = 0; central processor 'lbr';
% sig_breebaart2001 N0Spi, 300-ms tone in 400-ms noise of 65 dB, 50-ms ramps).
% Environment: FC, BW (Hz), NRUNS, SEED (Octave rand/randn 'state'). Prints one line per
% run: threshold re masker level (dB), number of trials, seconds.
source(fullfile(getenv('SHIM_DIR'), '..', 'setup_amt.m'));
fc = str2double(getenv('FC')); bw = str2double(getenv('BW'));
nruns = str2double(getenv('NRUNS')); seed = str2double(getenv('SEED'));
randn('state', seed); rand('state', seed);
par = amt_emuexp('expinit', [], {'intnum', 3, 'rule', [2 1], 'expvarstepstart', 8, ...
  'expvarsteprule', [0.5 2], 'stepmin', [1 8], 'expvarstart', 65});
par = amt_emuexp('modelinit', par, {'name', 'breebaart2001', 'input1', 'expsignal', ...
  'input2', 32000, 'input3', 0, 'input4', 0, 'outputs', [1 3 4]});
par = amt_emuexp('decisioninit', par, {'name', 'breebaart2001_centralproc', 'input1', ...
  'modelout', 'input2', 'modelout', 'input3', 'modelout', 'input4', 'lbr'});
par = amt_emuexp('signalinit', par, {'name', 'sig_breebaart2001', 'input1', 'inttyp', ...
  'input2', fc, 'input3', 'expvar', 'input4', 0.3, 'input5', pi, 'input6', bw, ...
  'input7', 65, 'input8', 0.4, 'input9', 0, 'input10', 0.05, 'input11', 32000});
for r = 1:nruns
  tic; result = amt_emuexp('run', par); t = toc;
  printf('fc=%g bw=%g run=%d thr=%.2f ntrials=%d time=%.1f\n', fc, bw, r, result(1) - 65, ...
         numel(result) - 2, t);
  fflush(stdout);
end
