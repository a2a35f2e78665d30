#!/usr/bin/env bash
# Pre-training at the project's default scale (the README's "Model" section reports its figures).
# 12,000 pre-training transitions (paper: 40,000), 10 epochs (paper: 10), the full A.11 model,
# Adam 3e-4 with a cosine decay (A.11: 1e-4 at 40,000), batch 16, on the 2 CPU cores of a development machine; plus held-out datasets of
# every task distribution for `f2p model eval`. Resumable: rerun after a kill.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
f2p data generate --distribution pretrain --n 12000 --workers 2 --seed 0 --out data/pretrain
for task in pretrain place transport organize packing; do
  f2p data generate --distribution "$task" --n 300 --workers 2 --seed 99 --out "data/heldout_$task"
done
f2p model pretrain --data data/pretrain --epochs 10 --out runs/pretrain --store models
f2p model eval --model models --data data/heldout_pretrain data/heldout_place data/heldout_transport \
  data/heldout_organize data/heldout_packing --chains place transport organize packing --n-chains 50 \
  --out experiments/results/model_eval.json
