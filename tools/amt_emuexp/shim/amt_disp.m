function amt_disp(varargin)
% Stand-in for AMT's amt_disp, which needs amt_start's stored configuration; the
% messages (progress, "monaural-based decision dominated ...") are dropped.
end
