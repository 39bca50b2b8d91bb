"""Pure renderers of Workloads: `docker run` argv, Compose services and documents, Kubernetes
objects (`kubernetes`, with pods and containers in `k8s_pod`).

Each takes `dockyard.workload.Workload` values and returns data (an argv list, a dict for
PyYAML); none chooses a default (that is `dockyard.plan`'s job) and none runs anything.
A renderer refuses a field it cannot express rather than dropping it silently.
"""
