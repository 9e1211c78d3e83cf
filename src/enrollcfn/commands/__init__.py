"""The commands, one module per group, each owning its arguments (`register(sub)`) and its
functions (`cmd_*`): build (build, lint, cost, prices), stack (plan, deploy, recover, destroy),
day2 (status, logs, run, exec, rollback, drift), envs (ls, show, secrets), publish, ci
(ci-workflow), stackset. What they share is in common; which environment a command acts on, in
target. enrollcfn.cli parses, dispatches, and turns failures into one line and an exit code."""
