#!/bin/sh
# Reproduce models/llada-tiny-retrieval{,.gguf,-eval} from scratch (CPU). Not run by CI
# or `make`. Needs python3 with torch, numpy, tokenizers, safetensors, gguf.
# Usage (from the repository root): sh tools/train/run.sh [STEPS] [MIX_STEPS]
#   stage "induct" (1 thread, 3,700 steps by default, about 50 minutes): induction circuit
#   planted at initialisation (induction_init.py), answer prefixes, length curriculum up
#   to 2k tokens; then stage "mix" (1,200 steps by default, about 17 minutes): fine-tuning
#   of that model on prefixed and bare prompts in turn, the bare prompts answered with the
#   restated question ("The secret code of Edith is 545"). Deterministic for a given
#   machine and PyTorch build. MIX_STEPS=0 stops after "induct" (the model of session 5).
#   The stages "base", "match" and "bind" of train.py are the earlier experiments that
#   models/MODEL.md reports (sessions 1-4).
set -e
cd "$(dirname "$0")/../.."
STEPS=${1:-3700}
MIX_STEPS=${2:-1200}
NAME=llada-tiny-retrieval
WORK=/work/scratch/train
mkdir -p $WORK
export TOKENIZERS_PARALLELISM=false
# 1-4: tokenizer, eval sets, training, export HF dir + f32 GGUF
nice -n 10 python3 tools/train/train.py --name $NAME --stage induct --steps "$STEPS" --work $WORK
# 5: fine-tuning on prefixed + bare prompts from the exported "induct" model (HF dir); writes
#    the bare eval sets (models/$NAME-eval-bare) and replaces the HF dir and the GGUF
if [ "$MIX_STEPS" -gt 0 ]; then
    rm -rf $WORK/induct-hf && cp -r models/$NAME $WORK/induct-hf
    nice -n 10 python3 tools/train/train.py --name $NAME --stage mix --init $WORK/induct-hf --steps "$MIX_STEPS" \
        --lr 1e-3 --warmup 50 --eval-every-min 6 --work $WORK
fi
# MaskKV layer profile (maskkv calibrate on Debian's GPL-3 text)
make build/maskkv
build/maskkv calibrate -m models/$NAME.gguf -f /usr/share/common-licenses/GPL-3 --samples 32 --chat --gen-len 8 \
    -o models/$NAME.gguf.profile.json
cp models/$NAME.gguf.profile.json models/$NAME.profile.json
# full-cache accuracy table (LLaDA low-confidence remasking, gen_len = steps = block = 8)
nice -n 10 python3 tools/train/eval.py models/$NAME models/$NAME-eval --json models/$NAME-eval/results.json
if [ "$MIX_STEPS" -gt 0 ]; then
    nice -n 10 python3 tools/train/eval.py models/$NAME models/$NAME-eval-bare --gen-len 16 \
        --json models/$NAME-eval-bare/results.json
fi
