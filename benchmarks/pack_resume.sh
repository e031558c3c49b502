#!/usr/bin/env bash
# Issue #7, between device sessions: file the runs a lease brought back and pack what the next lease must carry.
# Usage (development machine, repo root):
#   bash benchmarks/pack_resume.sh STORE CARRY [acc_NAME.tgz ...]
# Each tarball (made on the GPU machine as in docs/results.md: logs/NAME.log + ck/NAME/) is unpacked into STORE,
# the lasting copy of every run (e.g. /work/acc). CARRY (e.g. .acc, ignored by git) then gets all of STORE's logs
# (so that the suite skips the finished runs) and the checkpoints of the runs that can still resume: a
# `*-last.pth` and no "test result:" in the log. Finished runs' checkpoints stay behind in STORE: the 64 MiB carry
# limit has no room for them. Anything else in CARRY (e.g. the wheels in CARRY/dev) is left as it is. What CARRY
# held before and STORE lacks (a fresh STORE) is filed in STORE first, so packing never drops a run.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 STORE CARRY [acc_NAME.tgz ...]" >&2; exit 2; }
STORE=$1 CARRY=$2; shift 2
mkdir -p "$STORE/logs" "$STORE/ck"
# A fresh STORE (a new session's /tmp) must not lose what CARRY already holds: the logs of finished runs and the
# checkpoints of runs this lease did not train (still queued). So first file into STORE whatever of CARRY it lacks;
# the tarballs, newer, then overwrite.
if [ -d "$CARRY/logs" ]; then cp -n "$CARRY"/logs/*.log "$STORE/logs/" 2>/dev/null || true; fi
for ck in "$CARRY"/ck/*/; do
  if [ -d "$ck" ] && [ ! -e "$STORE/ck/$(basename "$ck")" ]; then cp -r "$ck" "$STORE/ck/"; fi
done
for tgz in "$@"; do tar xzf "$tgz" -C "$STORE"; done
rm -rf "$CARRY/ck" "$CARRY/logs"
mkdir -p "$CARRY/ck" "$CARRY/logs"
cp "$STORE"/logs/*.log "$CARRY/logs/" 2>/dev/null || true
for ck in "$STORE"/ck/*/; do
  [ -d "$ck" ] || continue
  name=$(basename "$ck"); log="$STORE/logs/$name.log"
  if grep -q "test result:" "$log" 2>/dev/null; then
    echo "finished: $name"
  elif ls "$ck"*-last.pth > /dev/null 2>&1; then
    cp -r "$ck" "$CARRY/ck/$name"
    echo "resumable, packed: $name ($(grep -c 'valid result' "$log" 2>/dev/null || true) epochs logged)"
  else
    echo "no checkpoint to resume: $name"
  fi
done
echo "$CARRY: $(du -sh "$CARRY" | cut -f1) in all"
