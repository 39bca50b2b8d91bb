"""serve, predict: the project's model behind dockyard's REST server."""

from __future__ import annotations

from pathlib import Path

import click

from dockyard.cli._main import Context, cli
from dockyard.cli._output import follow_or_detach


@cli.command()
@click.option("--model", default=None, help="Model file inside the project.")
@click.option("--predictor", default=None, help="module:Class with setup() and predict().")
@click.option("--port", type=int, default=None, help="Host port (default 8080).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Host address to bind.")
@click.option("--workers", type=int, default=None, help="Server processes (default: cores).")
@click.option("--tag", default="", help="Serving image name.")
@click.option("--base", default=None, help="Base image (as for build).")
@click.option("--ca-cert", default=None, help="CA bundle for a TLS proxy, passed as a secret.")
@click.option("--detach", "-d", is_flag=True, help="Leave it running in the background.")
@click.option("--no-build", is_flag=True,
              help="Use the newest serving image as it is, without bringing it up to date.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def serve(ctx: Context, model: str | None, predictor: str | None, port: int | None, host: str,
          workers: int | None, tag: str, base: str | None, ca_cert: str | None, detach: bool,
          no_build: bool, as_json: bool) -> None:
    """Build the serving image, start the model server, wait until ready, print its URL."""
    from dockyard.app.serving import (
        build_serving,
        choose_target,
        latest_serving_image,
        start_serving,
        trust_note,
    )
    from dockyard.cli._output import BuildProgress

    out = ctx.output(as_json)
    project = ctx.project()
    target = choose_target(project, model, predictor)  # a wrong sha256 pin stops here
    engine = ctx.engine()
    note = trust_note(project, target)
    if note:
        out.note(f"note: {note}")
    if no_build:
        image, image_id, build_doc = latest_serving_image(engine, project), "", {}
    else:
        out.note(f"serving image for {target.model or target.predictor}…")
        progress = BuildProgress(out, quiet=True)
        built = build_serving(engine, project, target, tag=tag, base=base, ca_cert=ca_cert,
                              on_line=progress)
        progress.report(built.result.seconds)
        image, image_id = built.result.image, built.result.id
        build_doc = {"size_bytes": built.result.size_bytes,
                     "build_seconds": round(built.result.seconds, 2)}
    session = start_serving(engine, project, image, port=port, host=host, workers=workers,
                            image_id=image_id)
    out.emit({"url": session.url, "container": session.container, "name": session.name,
              "image": image, "id": image_id, **build_doc,
              "seconds_to_ready": round(session.seconds_to_ready, 2),
              "model": target.model, "predictor": target.predictor})
    out.info(f"model server ready ({session.seconds_to_ready:.1f}s): {session.url}  "
             f"(POST /predict, GET /docs, /metrics)")
    follow_or_detach(out, engine, session.name, detach, stop_timeout=None)


@cli.command()
@click.option("--data", "data", required=True, type=click.Path(path_type=Path),
              help="Rows to predict: .json (records or {\"instances\": …}) or .csv.")
@click.option("--url", default=None, help="Server URL (default: this project's running server).")
@click.option("--proba", is_flag=True, help="Also return class probabilities.")
@click.pass_obj
def predict(ctx: Context, data: Path, url: str | None, proba: bool) -> None:
    """Send rows to the model server and print its predictions (JSON)."""
    import json

    from dockyard.app.serving import predict as do_predict
    from dockyard.app.serving import serving_url

    if url is None:

        engine = ctx.engine()
        url = serving_url(engine, ctx.project())
    print(json.dumps(do_predict(url, data, proba)))
