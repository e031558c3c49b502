#!/bin/bash
# Summarise the runs launch.sh started (one line each: finished result, or the last epoch seen) and pack the logs
# into $OUT/logs.tgz.
cd /tmp/logs || exit 1
for f in *.log; do
  n=${f%.log}
  if [ -f $n.json ]; then
    python3 -c "import json; r=json.load(open('$n.json')); t=r['test_result']; print('$n', 'DONE test', {k: round(float(v), 4) for k, v in t.items()}, 'best', r['best_epoch'], 'of', r['epochs'], 's/ep', round(r['train_s_per_epoch'] or 0, 2), 'params', r['params'])"
  elif grep -q '^{"peer"' $f; then
    echo "$n DONE $(grep '^{"peer"' $f)"
  else
    echo "$n RUNNING $(grep -oE 'epoch [0-9]+ (valid recall@10 [0-9.]+|evaluating \[time: [0-9.]+s, valid_score: [0-9.]+)' $f | tail -1) $(grep -iE 'error|Traceback' $f | tail -1)"
  fi
done
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv,noheader
tar czf $OUT/logs.tgz -C /tmp logs
