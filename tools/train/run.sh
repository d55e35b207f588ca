#!/bin/sh
# Reproduce models/llada-tiny-retrieval{,.gguf,-eval} from scratch (CPU). Not run by CI
# or `make`. Needs python3 with torch, numpy, tokenizers, safetensors, gguf.
# Usage (from the repository root): sh tools/train/run.sh [STAGE1_MINUTES] [STAGE2_MINUTES]
#   stage 1 "base" (1 thread): bare answers, length curriculum: the shipped model;
#   stage 2 "bind" (2 threads, only when STAGE2_MINUTES > 0): answer prefixes, the
#   offset-3 copy task, fill-in multi-query batches, from stage 1's weights; it rewrites
#   the eval sets in the prefixed style. Experimental: see models/MODEL.md, session 4.
set -e
cd "$(dirname "$0")/../.."
MIN1=${1:-75}
MIN2=${2:-0}
NAME=llada-tiny-retrieval
WORK=/work/scratch/train
mkdir -p $WORK
export TOKENIZERS_PARALLELISM=false
# 1-4: tokenizer, eval sets, training, export HF dir + f32 GGUF
nice -n 10 python3 tools/train/train.py --name $NAME --minutes "$MIN1" --work $WORK
if [ "$MIN2" -gt 0 ]; then
    nice -n 10 python3 tools/train/train.py --name $NAME --stage bind --init $WORK/$NAME.pt --minutes "$MIN2" \
        --threads 2 --warmup 50 --work $WORK
fi
# MaskKV layer profile (maskkv calibrate on Debian's GPL-3 text)
make build/maskkv
build/maskkv calibrate -m models/$NAME.gguf -f /usr/share/common-licenses/GPL-3 --samples 32 --chat --gen-len 8 \
    -o models/$NAME.gguf.profile.json
cp models/$NAME.gguf.profile.json models/$NAME.profile.json
# full-cache accuracy table (LLaDA low-confidence remasking, gen_len = steps = block = 8)
nice -n 10 python3 tools/train/eval.py models/$NAME models/$NAME-eval --json models/$NAME-eval/results.json
