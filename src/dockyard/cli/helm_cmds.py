"""helm, deploy: the project's Helm chart (and its OCI push), and a deploy to a real cluster."""

from __future__ import annotations

import click

from dockyard.cli._main import Context, cli


@cli.command("helm")
@click.option("--out", default=None, metavar="DIR",
              help="Folder of the chart, inside the project (default: helm/<deploy name>).")
@click.option("--force", is_flag=True, help="Replace chart files that dockyard did not write.")
@click.option("--push", "push_to", default=None, metavar="oci://REGISTRY/REPO",
              help="Lint, package and push the chart to an OCI registry.")
@click.option("--plain-http", is_flag=True,
              help="Push over plain HTTP (automatic for 127.0.0.1 and localhost).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def helm_cmd(ctx: Context, out: str | None, force: bool, push_to: str | None,
             plain_http: bool, as_json: bool) -> None:
    """Write a Helm chart of the project; its default values render the prod overlay.

    values.yaml holds every [deploy] knob: replicas, autoscaling, resources, GPU, node
    selector and tolerations, ingress, namespace and the images (pinned by digest after
    `dockyard push`). No secret is in the chart: the pods read the Secret <name>-secrets.
    """
    from dockyard.app.helm import push_chart, write_chart
    from dockyard.engine.helm import check_oci

    output = ctx.output(as_json)
    if push_to:
        check_oci(push_to)  # bad input first, before anything is written
    written = write_chart(ctx.project(), out=out or "", force=force)
    made = written.files
    for note in made.notes:
        output.warn(note, "")
    doc: dict[str, object] = {
        "out": made.folder, "chart": made.chart.name, "version": made.chart.version,
        "app_version": made.chart.app_version, "files": [a.path for a in made.artifacts],
        "changed": list(written.changed), "removed": list(written.removed)}
    output.info(f"wrote {len(written.changed)} of {len(made.artifacts)} files in "
                f"{made.folder}/ (chart {made.chart.name} {made.chart.version})")
    for rel in written.removed:
        output.info(f"removed {rel} (no longer in the chart)")
    if push_to:
        pushed = push_chart(ctx.project(), made.folder, push_to, plain_http=plain_http)
        doc["pushed"] = {"ref": pushed.ref, "digest": pushed.digest}
        output.info(f"pushed {pushed.ref} ({pushed.digest})")
    else:
        output.note(f"install: dockyard deploy --helm (or helm upgrade --install "
                    f"{made.chart.name} {made.folder} -n {made.chart.deploy.namespace} "
                    "--create-namespace)")
    output.emit(doc)


@cli.command("deploy")
@click.option("--context", "kube_context", default="", metavar="C",
              help="kubectl context (default: kubectl's current context).")
@click.option("--namespace", default="", metavar="N",
              help="Namespace (default: [deploy] namespace).")
@click.option("--helm", "use_helm", is_flag=True,
              help="Install the Helm chart (helm upgrade --install) instead of kubectl apply -k.")
@click.option("--dry-run", is_flag=True, help="Print the plan; run nothing, write nothing.")
@click.option("--timeout", default=300, show_default=True, metavar="S", type=click.IntRange(1),
              help="Seconds to wait for the rollout.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def deploy_cmd(ctx: Context, kube_context: str, namespace: str, use_helm: bool, dry_run: bool,
               timeout: int, as_json: bool) -> None:
    """Deploy the project to a Kubernetes cluster and wait for the rollout.

    Writes k8s/ (or the chart with --helm), applies the namespace and the Secret
    <name>-secrets from .env (on kubectl's stdin, never in a command line or a file), then
    `kubectl apply -k k8s/overlays/prod` (or a Helm upgrade --install), and waits with
    `kubectl rollout status`.
    """
    from dockyard.app.deploy import execute, plan_project, project_actions
    from dockyard.engine.kubectl import Kubectl

    output = ctx.output(as_json)
    project, plan = plan_project(ctx.project(), context=kube_context, namespace=namespace,
                                 helm=use_helm, timeout=timeout)
    kubectl = Kubectl(ctx.engine(check=False).runner, "kubectl", kube_context) if dry_run else \
        Kubectl.find(kube_context, ctx.engine(check=False).runner)
    if dry_run:
        output.emit({"dry_run": True, **plan.as_dict(kubectl)})
        output.info(f"deploy plan for {plan.name} → namespace {plan.namespace}"
                    f"{f' (context {plan.context})' if plan.context else ''}:")
        for i, step in enumerate(plan.steps, 1):
            output.info(f"  {i}. {step.shown(kubectl)}")
        return
    notes = execute(plan, kubectl, project_actions(project, plan),
                    on_step=lambda what: output.note(f"→ {what}"))
    output.emit({"dry_run": False, **plan.as_dict(kubectl), "notes": notes})
    for note in notes:
        output.info(note)
    output.info(f"deployed {plan.name} to namespace {plan.namespace}: "
                f"{', '.join(plan.rollouts) or 'nothing to wait for'} rolled out")
