#!/bin/sh
# Reproduce models/llada-tiny-retrieval{,.gguf,-eval} from scratch (CPU, 1 thread).
# Not run by CI or `make`. Needs python3 with torch, numpy, tokenizers, safetensors, gguf.
# Usage (from the repository root): sh tools/train/run.sh [MINUTES]
set -e
cd "$(dirname "$0")/../.."
MIN=${1:-80}
NAME=llada-tiny-retrieval
mkdir -p /work/scratch/train
export TOKENIZERS_PARALLELISM=false
# 1-4: tokenizer, eval sets, training (time budget MIN minutes), export HF dir + f32 GGUF
nice -n 10 python3 tools/train/train.py --name $NAME --minutes "$MIN"
# full-cache accuracy table (LLaDA low-confidence remasking, gen_len = steps = block = 8)
nice -n 10 python3 tools/train/eval.py models/$NAME models/$NAME-eval --json models/$NAME-eval/results.json
