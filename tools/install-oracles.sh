#!/usr/bin/env bash
# Installs the reference libraries (e2cnn, selfeeg, elektronn3) from PyPI into the current Python
# environment, for use as test oracles (tests that `pytest.importorskip` them and compare numbers). Safe to re-run; needs pip.
#   e2cnn 0.2.3     + three mechanical fixes so it runs on numpy 2 / torch 2 (tostring, copy=False, uint8 masks)
#   selfeeg 0.2.2   --no-deps (+ pandas, tqdm); it imports torchaudio at import time: stub
#                   `torchaudio.functional` in sys.modules before importing it (ConstrainedConv2d never uses it)
#   elektronn3 0.1.1 --no-deps (+ colorlog)
# Usage: tools/install-oracles.sh [python]   (default: python3 on PATH; run it inside your virtualenv)
# It edits the e2cnn it installs (the fixes above): run it in a virtualenv, not your system Python.
set -euo pipefail
PY=${1:-python3}
pip_() { "$PY" -m pip install -q "$@" 2>&1 | grep -v "is ignored" || true; }
pip_ e2cnn==0.2.3 sympy colorlog pandas tqdm
pip_ --no-deps selfeeg==0.2.2 elektronn3==0.1.1
E=$("$PY" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("e2cnn").origin))')
sed -i 's/\.tostring()/.tobytes()/g' "$E/kernels/irreps_basis.py"
sed -i -E 's/np\.array\(([a-z]+), copy=False\)/np.asarray(\1)/g' "$E/kernels/utils.py"
sed -i 's/mask\.astype(np\.uint8)/mask.astype(bool)/; s/norms\.to(torch\.uint8)/norms.to(torch.bool)/' \
  "$E/nn/modules/r2_conv/basisexpansion_singleblock.py"
grep -rl "np\.float\b" "$E" | xargs -r sed -i 's/np\.float\b/float/g'
"$PY" - <<'PY'
import sys, types
ta = types.ModuleType("torchaudio"); ta.functional = types.ModuleType("torchaudio.functional")
ta.functional.filtfilt = None; sys.modules.setdefault("torchaudio", ta); sys.modules.setdefault("torchaudio.functional", ta.functional)
import e2cnn.nn, selfeeg.models, elektronn3.modules.wsconv
from e2cnn import gspaces, nn
g = gspaces.FlipRot2dOnR2(8); t = nn.FieldType(g, [g.regular_repr])
print("oracles ready: e2cnn", e2cnn.__version__ if hasattr(e2cnn, "__version__") else "", "| D8 k5 weights:", nn.R2Conv(t, t, 5).weights.numel())
PY
