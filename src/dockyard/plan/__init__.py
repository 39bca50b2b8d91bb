"""Resolved spec → Workloads: the one place defaults live.

`defaults` holds what every container shares (the lab's command, ports, mount point, health
check, hardening); `project` resolves `dockyard run`, notebook runs, the lab and the model
server; `services` the stack's data services; `stack` the whole stack with its pipeline steps;
`cluster` adapts the stack's Workloads for Kubernetes (names, users, mounts, ports).
"""
