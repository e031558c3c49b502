#!/usr/bin/env bash
# Issue #7, on the GPU machine: one poll call of accuracy-suite runs that train in the background.
# Usage (repo root):
#   bash benchmarks/poll_runs.sh DIR OUT [SECONDS]
# Waits SECONDS (default 0; keep the call under the device tool's 600 s limit), then prints the GPUs' load, the host's
# load and each trainer's CPU use and thread count, the suite's own log and the table of DIR's runs so far
# (collect_results.py), and packs every run into OUT/acc_NAME.tgz without stopping it (KEEP_RUNNING=1 stop_runs.sh),
# with DIR/suite.log as OUT/suite.log: a lent machine can go back between two calls, so each poll brings back what a
# later session needs to resume (pack_resume.sh); with TUNE=DIR also DIR's screen logs and tables, with LOGS_ONLY=1
# only the runs' logs, in one tarball (below). Exits 3 at once, without waiting, when DIR holds no run logs (a fresh
# machine: the one that ran them went back).
set -u
[ $# -ge 2 ] || { echo "usage: $0 DIR OUT [SECONDS]" >&2; exit 2; }
DIR=${1%/}; OUT=$2; WAIT=${3:-0}
HERE=$(cd "$(dirname "$0")" && pwd)
# a fresh machine has no runs: if the last one went back, waiting would only spend device time (session 15 spent
# 540 s polling an empty machine). Exit before the wait; the caller starts the runs again from benchmarks/resume/.
if ! ls "$DIR"/logs/*.log > /dev/null 2>&1; then
  echo "no runs in $DIR (no $DIR/logs/*.log): this machine is a fresh one, the previous one went back with its runs;" \
    "start them again (benchmarks/resume/README.md)" >&2
  exit 3
fi
sleep "$WAIT"
date -u +%FT%TZ
# clocks and power too: session 14's x4 machine ran the same runs 17% slower per GPU than the x2 one
nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,clocks.sm,clocks.max.sm,power.draw,power.limit,temperature.gpu \
  --format=csv 2>/dev/null || nvidia-smi --query-gpu=index,utilization.gpu,memory.used --format=csv,noheader 2>/dev/null \
  || echo "(no nvidia-smi)"
# the host side, for GPUs that idle (session 14's x4 machine: 49-88% per GPU against 93-97% on x2)
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for pid in $(pgrep -f "run_recbole_mamba[.]py" 2>/dev/null); do
  tag=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | sed -n 's|^--checkpoint_dir=.*/||p')
  [ -n "$tag" ] && ps -o pcpu=,nlwp= -p "$pid" | awk -v t="$tag" '{print t ": " $1 "% CPU (mean since start), " $2 " threads"}'
done
tail -n 5 "$DIR/suite.log" 2>/dev/null
python "$HERE/collect_results.py" "$DIR"/logs/*.log
# LOGS_ONLY=1: one OUT/logs.tgz with every run's log instead of a tarball per run, for many short runs that do not
# need to resume (the tie-order runs on ml-100k: 36 runs, more than the 8 files a call brings back)
if [ "${LOGS_ONLY:-0}" = 1 ]; then
  mkdir -p "$OUT" && tar czf "$OUT/logs.tgz" -C "$DIR" logs
else
  KEEP_RUNNING=1 bash "$HERE/stop_runs.sh" "$DIR" "$OUT"
fi
status=$?
# the suite's whole log comes back too (which run started, waited or stopped when), so a call needs no `cp` after the
# poll: session 16's failed `cp` on a fresh machine hid the poll's exit status 3 behind its own 1
if [ -f "$DIR/suite.log" ]; then cp "$DIR/suite.log" "$OUT/suite.log"; fi
# TUNE=/tmp/tune: tuning_screen.sh runs beside the suite (on the GPUs GPU_IDS leaves it); its logs and tables come back
# as OUT/tune.tgz, without the tuner's model files (a screen's trials do not resume, and the files limit is 8)
if [ -n "${TUNE:-}" ] && [ -d "$TUNE" ]; then
  (cd "$TUNE" && find . -type f \( -name '*.log' -o -name '*.csv' -o -name '*.md' -o -name '*.yaml' \) -print0 \
    | tar czf "$OUT/tune.tgz" --null -T -) || echo "packing $TUNE failed" >&2
fi
exit $status
