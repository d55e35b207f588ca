#!/bin/sh
# Reproduce models/llada-tiny-retrieval{,.gguf,-eval} from scratch (CPU). Not run by CI
# or `make`. Needs python3 with torch, numpy, tokenizers, safetensors, gguf.
# Usage (from the repository root): sh tools/train/run.sh [STEPS]
#   stage "induct" (1 thread, 3,700 steps by default, about 50 minutes): induction circuit
#   planted at initialisation (induction_init.py), answer prefixes, length curriculum up
#   to 2k tokens. Deterministic for a given machine and PyTorch build.
#   The stages "base", "match" and "bind" of train.py are the earlier experiments that
#   models/MODEL.md reports (sessions 1-4).
set -e
cd "$(dirname "$0")/../.."
STEPS=${1:-3700}
NAME=llada-tiny-retrieval
WORK=/work/scratch/train
mkdir -p $WORK
export TOKENIZERS_PARALLELISM=false
# 1-4: tokenizer, eval sets, training, export HF dir + f32 GGUF
nice -n 10 python3 tools/train/train.py --name $NAME --stage induct --steps "$STEPS" --work $WORK
# MaskKV layer profile (maskkv calibrate on Debian's GPL-3 text)
make build/maskkv
build/maskkv calibrate -m models/$NAME.gguf -f /usr/share/common-licenses/GPL-3 --samples 32 --chat --gen-len 8 \
    -o models/$NAME.gguf.profile.json
cp models/$NAME.gguf.profile.json models/$NAME.profile.json
# full-cache accuracy table (LLaDA low-confidence remasking, gen_len = steps = block = 8)
nice -n 10 python3 tools/train/eval.py models/$NAME models/$NAME-eval --json models/$NAME-eval/results.json
