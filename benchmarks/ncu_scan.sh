#!/usr/bin/env bash
# Nsight Compute profile of the selective-scan kernels (issue #6): ours (scan_backend triton) and mamba-ssm's
# (cuda) at LatentMamba's ml-1m shape (benchmarks/scan_step.py), one forward and one backward launch each,
# after one warm-up iteration. Needs a GPU machine whose runtime lets ncu read counters (Firecracker).
#   bash benchmarks/ncu_scan.sh OUTDIR [BACKENDS]
# Writes OUTDIR/ncu_BACKEND.txt (details page: speed of light, memory tables, occupancy, warp stalls,
# top stall locations) and OUTDIR/scan_BACKEND.ncu-rep (open in Nsight Compute's GUI).
set -u
dir=${1:-ncu}; backends=${2:-"triton cuda"}
mkdir -p "$dir"
metrics=dram__bytes_read.sum,dram__bytes_write.sum,lts__t_bytes.sum,l1tex__t_bytes.sum,\
l1tex__t_bytes_pipe_lsu_mem_local_op_ld.sum,l1tex__t_bytes_pipe_lsu_mem_local_op_st.sum,\
smsp__inst_executed.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,gpu__time_duration.sum
for backend in $backends; do
  ncu --clock-control none -k regex:'scan_(fwd|bwd)' --launch-skip 2 --launch-count 2 \
      --section SpeedOfLight --section MemoryWorkloadAnalysis --section MemoryWorkloadAnalysis_Tables \
      --section ComputeWorkloadAnalysis --section Occupancy --section LaunchStats --section SchedulerStats \
      --section WarpStateStats --section SourceCounters --section InstructionStats --metrics "$metrics" \
      --export "$dir/scan_$backend" --force-overwrite \
      python3 benchmarks/scan_step.py "$backend" 2 > "$dir/run_$backend.log" 2>&1
  echo "ncu $backend: exit $?"
  ncu --import "$dir/scan_$backend.ncu-rep" --page details > "$dir/ncu_$backend.txt" 2>&1
  python3 benchmarks/scan_step.py "$backend" 10 >> "$dir/run_$backend.log" 2>&1  # unprofiled timing
done
