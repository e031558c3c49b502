#!/usr/bin/env bash
# Issue #7, on the GPU machine: stop accuracy-suite runs and pack each run's log and checkpoints for the trip back.
# Usage (repo root):
#   bash benchmarks/stop_runs.sh DIR [OUT] [TAG ...]
# Stops the runs of the suite in DIR (e.g. /tmp/acc) named TAG (e.g. BERT4Rec_2020), or all of them with no TAG (then it
# also writes DIR/STOP, which ends a PER_GPU queue, so that no queued run takes a stopped one's place),
# waits up to STOP_WAIT seconds (default 60) for them to exit, then, if OUT is given and not "-", writes one
# OUT/acc_NAME.tgz (logs/NAME.log + ck/NAME/) per run in DIR/ck, as pack_resume.sh expects.
# KEEP_RUNNING=1 packs without stopping anything: do that in every poll call, because a lent machine can go back
# between two calls (session 13 lost 20 epochs of each of two runs that way, with nothing packed). The trainer replaces its
# checkpoint files whole (trainer.save_whole), and each tarball takes the -last.pth first, then the best model, then
# the log, so that what it holds is never newer in the -last file than in the others: a resume from it retrains at
# most the epoch in between, and the log's repeated lines for that epoch are read as the later run's.
# A run is found by the `--checkpoint_dir=DIR/ck/TAG` on its own command line, never by a pattern that the calling
# shell's command line could also hold: `pkill -f "model=BERT4Rec"` typed into a device call kills that call's
# shell too, and the machine goes back with every run (session 8 lost a lease that way).
set -u
[ $# -ge 1 ] || { echo "usage: $0 DIR [OUT] [TAG ...]" >&2; exit 2; }
DIR=${1%/}; OUT=${2:--}; shift $(( $# >= 2 ? 2 : 1 ))
WAIT=${STOP_WAIT:-60}

pids_of() {  # the trainer processes whose arguments hold --checkpoint_dir=DIR/ck/TAG (any TAG when none is given)
  local pid args
  for pid in $(pgrep -f "run_recbole_mamba[.]py" 2>/dev/null); do
    [ "$pid" = "$$" ] && continue
    args=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null) || continue
    grep -qx '.*run_recbole_mamba[.]py' <<< "$args" || continue  # the script itself, not a mention of it
    if [ $# -eq 0 ]; then
      grep -q "^--checkpoint_dir=" <<< "$args" && grep -qF -- "--checkpoint_dir=$DIR/ck/" <<< "$args" && echo "$pid"
    else
      local tag
      for tag in "$@"; do grep -qxF -- "--checkpoint_dir=$DIR/ck/$tag" <<< "$args" && echo "$pid"; done
    fi
  done
}

# stopping every run also ends the suite's queue (PER_GPU), so that no queued run starts in a stopped run's place
[ "${KEEP_RUNNING:-0}" != 1 ] && [ $# -eq 0 ] && touch "$DIR/STOP"
pids=$(pids_of "$@")
if [ "${KEEP_RUNNING:-0}" = 1 ]; then
  echo "packing only: ${pids:-no run is running}" | tr '\n' ' '; echo
elif [ -n "$pids" ]; then
  echo "stopping: $(echo $pids)"
  kill -TERM $pids 2>/dev/null
  for _ in $(seq "$WAIT"); do
    alive=""; for pid in $pids; do  # exited: gone, or a zombie that its parent has not reaped yet
      case $(ps -o stat= -p "$pid" 2>/dev/null) in ""|Z*) ;; *) alive="$alive $pid" ;; esac
    done
    [ -z "$alive" ] && break
    sleep 1
  done
  [ -n "${alive:-}" ] && echo "still running after ${WAIT}s:$alive" >&2
else
  echo "no matching run is running"
fi

if [ "$OUT" != "-" ]; then
  mkdir -p "$OUT"
  for ck in "$DIR"/ck/*/; do
    [ -d "$ck" ] || continue
    name=$(basename "$ck")
    files=()
    for f in "$ck"*-last.pth; do [ -f "$f" ] && files+=("ck/$name/$(basename "$f")"); done
    for f in "$ck"*; do
      case $f in *-last.pth|*.tmp) ;; *) [ -f "$f" ] && files+=("ck/$name/$(basename "$f")") ;; esac
    done
    [ -f "$DIR/logs/$name.log" ] && files+=("logs/$name.log")
    [ ${#files[@]} -gt 0 ] || { echo "nothing to pack: $name"; continue; }
    tar czf "$OUT/acc_$name.tgz" -C "$DIR" "${files[@]}" && echo "packed: $OUT/acc_$name.tgz"
  done
fi
