#!/usr/bin/env bash
# poll: keep any encoder piece that came along (.ft1/.ft2/.ft3), assemble when all are here; sleep up to $1 s (ends
# early when the job is done), pack the logs into $OUT
[ -d /tmp/lb ] || { echo "no job here (fresh machine)"; exit 3; }
mkdir -p /tmp/ftparts; cp .ft*/part.* /tmp/ftparts/ 2>/dev/null; ls /tmp/ftparts
if [ -e /tmp/ftparts/part.ac ] && [ ! -e /tmp/minilm/READY ]; then
  cat /tmp/ftparts/part.aa /tmp/ftparts/part.ab /tmp/ftparts/part.ac > /tmp/minilm.tar && sha256sum /tmp/minilm.tar \
  && mkdir -p /tmp/minilm && tar xf /tmp/minilm.tar -C /tmp/minilm && touch /tmp/minilm/READY && ls /tmp/minilm/model
fi
for i in $(seq $(( $1 / 15 ))); do [ -e /tmp/lb/ALLDONE ] && break; sleep 15; done
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
ls /tmp/lb; tail -n 3 /tmp/lb/*.log /tmp/lb/*/*.log 2>/dev/null | tail -40
cd /tmp/lb && tar czf $OUT/lb.tgz --exclude='*/ck*' --exclude='*.pth' . && ls -la $OUT
