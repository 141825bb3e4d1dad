#!/usr/bin/env bash
# The exact sequence used for docs/benchmarks.md (one benchmark at a time; ~1 h on 2 busy CPU cores).
set -x
cd "$(dirname "$0")/../.."
.venv/bin/python benchmarks/speed.py --reps 2 --train-steps 40 --train-steps-3d 10 --e2e-steps 60 > benchmarks/results/speed.log 2>&1
.venv/bin/python benchmarks/quality.py --budget-a 120 --extra-budgets 30 --budget-b 60 --set12 02 05 08 --bm3d-budget 90 > benchmarks/results/quality.log 2>&1
.venv/bin/python benchmarks/sweep.py --budget 30 --images 02 05 --masked 4 8 20 --lrs 1e-4 4e-4 1e-3 --batches 8 16 32 > benchmarks/results/sweep.log 2>&1
.venv/bin/python benchmarks/quality.py --part b --steps-b 60 --set12 02 05 --bm3d-budget 0 --save quality_steps > benchmarks/results/quality_steps.log 2>&1
.peer-venv/bin/python benchmarks/netbench.py --rounds 2 --steps 2 > benchmarks/results/netbench.log 2>&1  # (rerun at the end, less loaded)
.venv/bin/python benchmarks/speed.py --reps 2 --no-3d --train-steps 60 --e2e-steps 100 --save speed_rerun > benchmarks/results/speed_rerun.log 2>&1
.venv/bin/python benchmarks/speed.py --reps 2 --parts 3d --train-steps-3d 10 --save speed_3d_rerun > benchmarks/results/speed_3d_rerun.log 2>&1
# issue 13 (2026-11-27, quiet machine)
.venv/bin/python benchmarks/sweep_3d.py --budget 90 --seed 2 --factors none --combo filters=32 --combo masked=1 --combo batch=2 --combo patch=16x32x32 --combo masked=1,batch=2 > benchmarks/results/sweep_3d.log 2> benchmarks/results/sweep_3d.err
.venv/bin/python benchmarks/time_to_quality.py > benchmarks/results/time_to_quality.log 2> benchmarks/results/time_to_quality.err
.venv/bin/python benchmarks/speed.py --reps 2 --parts 3d --train-steps-3d 10 --save speed_3d_bf16 > benchmarks/results/speed_3d_bf16.log 2>&1
.venv/bin/python benchmarks/bf16_3d_check.py --conv-scan > benchmarks/results/bf16_conv_scan.txt
# widget vs headless (second session of issue 13): fresh processes, alternating, ratio of medians
xvfb-run -a .venv/bin/python benchmarks/widget_overhead.py --threads 2 --rounds 3 --steps 150 | tail -1 > benchmarks/results/widget_overhead_150.json
xvfb-run -a .venv/bin/python benchmarks/widget_overhead.py --threads 2 --rounds 2 | tail -1 > benchmarks/results/widget_overhead.json
xvfb-run -a .venv/bin/python benchmarks/widget_overhead.py --threads 2 --rounds 2 | tail -1 > benchmarks/results/widget_overhead_repeat.json
xvfb-run -a .venv/bin/python benchmarks/widget_overhead.py --dims 3 --steps 300 --threads 2 --rounds 2 | tail -1 > benchmarks/results/widget_overhead_3d.json
.venv/bin/python benchmarks/report.py
