#!/usr/bin/env bash
# poll: sleep up to $1 s (ends early when the job is done), then pack the logs into $OUT
[ -d /tmp/lb ] || { echo "no job here (fresh machine)"; exit 3; }
for i in $(seq $(( $1 / 15 ))); do [ -e /tmp/lb/ALLDONE ] && break; sleep 15; done
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
ls /tmp/lb/*/runs 2>/dev/null | grep -c json; tail -n 2 /tmp/lb/*.log
cd /tmp/lb && tar czf $OUT/lb.tgz --exclude='*/ck' --exclude='*.pth' . && ls -la $OUT
