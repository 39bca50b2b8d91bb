"""k8s: the project as Kubernetes manifests (a Kustomize layout), written without a cluster."""

from __future__ import annotations

import click

from dockyard.cli._main import Context, cli


@cli.command("k8s")
@click.option("--out", default="k8s", show_default=True, metavar="DIR",
              help="Folder of the layout, inside the project.")
@click.option("--external", is_flag=True,
              help="Leave out postgres, redis and minio: managed services replace them.")
@click.option("--force", is_flag=True, help="Replace files of the layout that dockyard did "
                                            "not write.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def k8s_cmd(ctx: Context, out: str, external: bool, force: bool, as_json: bool) -> None:
    """Write a Kustomize layout: base/ and overlays/dev, overlays/prod.

    The API as a Deployment with Service, autoscaler, disruption budget and optional Ingress;
    data services as StatefulSets; the pipeline as a Job (and a CronJob when scheduled).
    Secrets are referred to by name: create them from .env with
    `kubectl create secret generic NAME-secrets --from-env-file=.env`.
    """
    from dockyard.app.k8s import write_layout

    output = ctx.output(as_json)
    written = write_layout(ctx.project(), out=out, external=external, force=force)
    made = written.layout
    for message, hint in made.warnings:
        output.warn(message, hint)
    output.emit({"out": out, "namespace": made.namespace,
                 "files": [a.path for a in made.artifacts],
                 "objects": [{"kind": k, "name": n} for k, n in made.objects],
                 "changed": list(written.changed), "removed": list(written.removed),
                 "secret": made.secret, "secret_keys": list(made.secret_keys),
                 "warnings": [m for m, _ in made.warnings]})
    output.info(f"wrote {len(written.changed)} of {len(made.artifacts)} files in {out}/ "
                f"({len(made.objects)} objects; namespace {made.namespace})")
    for rel in written.removed:
        output.info(f"removed {rel} (no longer in the layout)")
    if made.secret_keys:
        output.note(f"the pods read {', '.join(made.secret_keys)} from the Secret "
                    f"{made.secret}: kubectl -n {made.namespace} create secret generic "
                    f"{made.secret} --from-env-file=.env")
    output.note(f"apply: kubectl apply -k {out}/overlays/prod")
