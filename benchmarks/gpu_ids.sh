# Sourced by accuracy_suite.sh and tuning_screen.sh: sets `ids`, the GPUs a script may use, and GPUS, their count.
# GPU_IDS=2,3 names them; otherwise GPUs 0 .. GPUS-1, with GPUS the count nvidia-smi gives (1 where it gives none).
if [ -n "${GPU_IDS:-}" ]; then
  read -ra ids <<< "${GPU_IDS//,/ }"
else
  GPUS=${GPUS:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')}; [ "$GPUS" -ge 1 ] 2>/dev/null || GPUS=1
  ids=(); for ((g = 0; g < GPUS; g++)); do ids+=("$g"); done
fi
GPUS=${#ids[@]}
