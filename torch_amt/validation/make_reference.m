function make_reference(outfile, stimulus, fs, statements, varargin)
%MAKE_REFERENCE  Write an AMT reference file for the torch_amt validation harness
%   Usage: make_reference(outfile, stimulus, fs, statements)
%          make_reference(outfile, stimulus, fs, statements, 'key', value, ...)
%
%   MAKE_REFERENCE(outfile, stimulus, fs, statements) runs the MATLAB/Octave
%   STATEMENTS (a cell array of strings, or one string with one statement per
%   line; several statements per line separated by ';' are fine) in a clean
%   workspace that holds only STIMULUS (a column vector) and FS, and saves to
%   OUTFILE (MATLAB v7 format) what torch_amt's harness (python -m torch_amt.validation)
%   reads:
%
%     stimulus, fs        the inputs
%     call                the statements, one per line, in execution order
%     calls               the same statements as a struct (fields s1, s2, ...)
%     <every variable the statements assign>, except the 'helpers'; a scalar
%                         struct S is stored flattened as S_<field> (one level)
%     amt_version, ltfat_version, octave_version, generator, stimulus_name,
%     stimulus_description, stimulus_level_db_spl, level_convention, note
%                         metadata (strings; the level is NaN if not given)
%
%   Write the statements with the MATLAB subset the harness understands:
%   numbers, 'strings', {cells}, [matrices], f(...) calls and 1-based
%   indexing, c{i}, s.field, ranges a:b, the operators + - * / ^ .* ./ .^,
%   [a, ~, b] = f(...), and for k = a:b, ...; end. Variables that later
%   statements use must be assigned by earlier ones or passed as 'inputs'.
%
%   Options (key, value):
%     'name'          stimulus name (default: the file name)
%     'description'   stimulus description (default '')
%     'level_db_spl'  nominal stimulus level in dB SPL (default NaN)
%     'convention'    level convention text (default: the dboffset = 100 one
%                     of the torch_amt reference set)
%     'inputs'        struct of further input variables (e.g. insig_channels),
%                     put into the workspace and stored
%     'helpers'       cell array of assigned variables NOT to store (the
%                     harness recomputes them; e.g. {'flags', 'kv'})
%     'note'          free text
%
%   Example (AMT 1.4.0 started with amt_start):
%
%     fs = 44100; t = (0:4409)'/fs;
%     x = sin(2*pi*1000*t); x = x/rms(x)*10^((60-100)/20);
%     make_reference('auditoryfilterbank__tone1k.mat', x, fs, ...
%       {'[outsig, fc] = auditoryfilterbank(stimulus, fs);', ...
%        'out_ihc = ihcenvelope(outsig, fs, ''ihc_dau1996'');'}, ...
%       'name', 'tone1k_60dB', 'level_db_spl', 60);
%
%   Then: python -m torch_amt.validation --reference <folder of outfile>
%
%   Part of torch_amt (GPL-3.0-or-later).

  opts = struct('name', '', 'description', '', 'level_db_spl', NaN, ...
                'convention', ['stimulus level convention: dboffset = 100, ', ...
                               'i.e. rms 1 <-> 100 dB SPL'], ...
                'inputs', struct(), 'helpers', {{}}, 'note', '');
  if mod(numel(varargin), 2) ~= 0
    error('make_reference: options must be key/value pairs');
  end
  for k = 1:2:numel(varargin)
    key = varargin{k};
    if ~ischar(key) || ~isfield(opts, key)
      error('make_reference: unknown option %s', num2str(key));
    end
    opts.(key) = varargin{k + 1};
  end
  if isempty(opts.name)
    [~, opts.name] = fileparts(outfile);
  end
  if ~isvector(stimulus) || ~isnumeric(stimulus)
    error('make_reference: stimulus must be a numeric vector');
  end
  statements = split_statements(statements);

  inputs = opts.inputs;
  inputs.stimulus = stimulus(:);
  inputs.fs = fs;
  assigned = run_statements(inputs, statements);

  out = struct();
  names = fieldnames(inputs);
  for k = 1:numel(names)
    out.(names{k}) = inputs.(names{k});
  end
  names = fieldnames(assigned);
  for k = 1:numel(names)
    name = names{k};
    value = assigned.(name);
    if any(strcmp(name, opts.helpers)) || isfield(inputs, name)
      continue
    end
    if isstruct(value) && isscalar(value)
      out = store_fields(out, name, value);
    elseif isnumeric(value) || islogical(value) || ischar(value) || iscell(value)
      out.(name) = value;
    else
      warning('make_reference: %s (%s) is not stored', name, class(value));
    end
  end

  out.call = strjoin(statements, sprintf('\n'));
  out.calls = struct();
  for k = 1:numel(statements)
    out.calls.(sprintf('s%d', k)) = statements{k};
  end
  out.amt_version = version_of(@() ['AMT ', amt_version('version')]);
  out.ltfat_version = version_of(@() ['LTFAT ', ltfathelp('version')]);
  out.octave_version = interpreter_version();
  out.generator = 'torch_amt torch_amt/validation/make_reference.m';
  out.stimulus_name = opts.name;
  out.stimulus_description = opts.description;
  out.stimulus_level_db_spl = opts.level_db_spl;
  out.level_convention = opts.convention;
  if ~isempty(opts.note)
    out.note = opts.note;
  end
  save(outfile, '-v7', '-struct', 'out');
end


function statements = split_statements(statements)
  % One statement line per cell, empty lines dropped.
  if ischar(statements)
    statements = strsplit(statements, sprintf('\n'));
  end
  if ~iscellstr(statements)
    error('make_reference: statements must be a string or a cell array of strings');
  end
  statements = strtrim(statements(:)');
  statements = statements(~cellfun(@isempty, statements));
end


function mr__vars = run_statements(mr__inputs, mr__statements)
  % Evaluate the statements in this function's workspace, which holds only the
  % inputs and variables whose names start with mr__; return what they assign
  % (ans excluded).
  mr__names = fieldnames(mr__inputs);
  for mr__k = 1:numel(mr__names)
    eval([mr__names{mr__k}, ' = mr__inputs.(mr__names{mr__k});']);
  end
  for mr__k = 1:numel(mr__statements)
    eval(mr__statements{mr__k});
  end
  mr__all = who();
  mr__vars = struct();
  for mr__k = 1:numel(mr__all)
    if ~strncmp(mr__all{mr__k}, 'mr__', 4) && ~strcmp(mr__all{mr__k}, 'ans')
      mr__vars.(mr__all{mr__k}) = eval(mr__all{mr__k});
    end
  end
end


function out = store_fields(out, name, s)
  % Flatten one level of a scalar struct: s.f -> <name>_f.
  fields = fieldnames(s);
  for k = 1:numel(fields)
    value = s.(fields{k});
    target = [name, '_', fields{k}];
    if isstruct(value)
      warning('make_reference: nested struct %s is not stored', target);
    elseif isnumeric(value) || islogical(value) || ischar(value) || iscell(value)
      out.(target) = value;
    else
      warning('make_reference: %s (%s) is not stored', target, class(value));
    end
  end
end


function text = version_of(query)
  try
    text = query();
  catch
    text = 'unknown';
  end
end


function text = interpreter_version()
  if exist('OCTAVE_VERSION', 'builtin')
    text = ['GNU Octave ', OCTAVE_VERSION()];
    try
      info = pkg('list', 'signal');
      if ~isempty(info)
        text = [text, ', signal package ', info{1}.version];
      end
    catch
    end
  else
    text = ['MATLAB ', version()];
  end
end
