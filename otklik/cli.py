"""The `otklik` console command: a thin typer wrapper that parses arguments and calls functions."""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one BLAS thread per process: workers scale by process

app = typer.Typer(add_completion=False, no_args_is_help=True, help="otklik: tagging of citizens' posts.")
log = logging.getLogger("otklik")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"otklik: {message}", err=True)
    raise typer.Exit(code)


def _datetime(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{name}: expected an ISO 8601 datetime with an offset, got {value!r}")
    if parsed.tzinfo is None:
        _fail(f"{name}: expected an ISO 8601 datetime with an offset, got {value!r} without one")
    return parsed


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="bind address (default OTKLIK_HOST or 127.0.0.1)")] = None,
    port: Annotated[Optional[int], typer.Option(help="port (default OTKLIK_PORT or 8000)")] = None,
    workers: Annotated[Optional[int], typer.Option(help="worker processes, each loads the model once")] = None,
) -> None:
    """Start the REST service on the bundled model and the SQLite store (or what OTKLIK_* says)."""
    import service.served  # noqa: F401 - first: this process and each worker go without pandas
    import uvicorn

    from service.app import is_loopback
    from service.logs import configure_logging
    from service.malloc import limit_arenas
    from service.settings import get_settings

    try:
        settings = get_settings()
    except Exception as exc:  # pydantic's ValidationError: show the variable and the reason
        _fail(f"settings: {exc}")
    # before the threads that allocate start (the event loop's, the tagging thread)
    limit_arenas(settings.malloc_arena_max)
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    # the worker processes read their own Settings: they must know they are not alone (history mirror)
    os.environ["OTKLIK_WORKERS"] = str(workers)
    configure_logging(json_lines=settings.log_json)
    if not settings.auth_enabled:
        if not is_loopback(host):
            _fail(f"no API tokens configured (OTKLIK_API_TOKENS): refusing to serve on {host}; "
                  "set tokens or bind to 127.0.0.1")
        log.warning("no API tokens configured: serving on loopback %s:%s only, without authentication", host, port)
    uvicorn.run(
        "service.served:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )


@app.command()
def tag(
    input: Annotated[Path, typer.Argument(help=".jsonl, .csv or .parquet (optionally .gz) with post fields as columns")],
    out: Annotated[Optional[Path], typer.Option("--out", help="output .jsonl or .parquet (default: JSONL to stdout)")] = None,
    region: Annotated[Optional[str], typer.Option(help="profile for posts without `region`; keeps only this region's posts")] = None,
    workers: Annotated[int, typer.Option(help="worker processes (the model is loaded once per worker)")] = 1,
    since: Annotated[Optional[str], typer.Option(help="keep posts detected/created at or after (ISO 8601)")] = None,
    until: Annotated[Optional[str], typer.Option(help="keep posts detected/created before (ISO 8601)")] = None,
    fields: Annotated[Optional[str], typer.Option(help="re-tag only these components, comma-separated: topic,location,exclusions,importance,route,sla")] = None,
    chunk_size: Annotated[int, typer.Option(help="rows per chunk (the unit of resume)")] = 1000,
    assume_tz: Annotated[Optional[str], typer.Option(help="time zone for datetimes without an offset (else such rows are bad rows)")] = None,
    engine: Annotated[str, typer.Option(help="local (processes) or dask (a Dask distributed cluster)")] = "local",
    scheduler: Annotated[Optional[str], typer.Option(help="with --engine dask: tcp://HOST:PORT (default: a LocalCluster)")] = None,
    history: Annotated[Optional[str], typer.Option(help="history for repeats and incidents: memory, a SQLite file or a SQLAlchemy URL (one worker)")] = None,
    model_path: Annotated[Optional[Path], typer.Option(help="model artifact (default: the bundled one)")] = None,
    default_region: Annotated[str, typer.Option(help="profile for posts without region when --region is not given")] = "omsk",
) -> None:
    """Batch (re-)tagging of an archive; re-running with the same OUTPUT resumes."""
    from batch.job import TagOptions, errors_path, run_tag
    from model.errors import OtklikError
    from model.paths import DEFAULT_ARTIFACT

    options = TagOptions(
        input=input,
        output=out,
        region=region,
        since=_datetime(since, "--since"),
        until=_datetime(until, "--until"),
        fields=[f.strip() for f in fields.split(",") if f.strip()] if fields else None,
        workers=workers,
        chunk_size=chunk_size,
        assume_tz=assume_tz,
        history=history,
        artifact_path=model_path or DEFAULT_ARTIFACT,
        default_region=default_region,
    )
    try:
        if engine == "dask":
            from batch.dask_engine import run_tag_dask

            summary = run_tag_dask(options, scheduler=scheduler)
        elif engine == "local":
            summary = run_tag(options)
        else:
            _fail(f"--engine: expected local or dask, got {engine!r}")
    except (OtklikError, ValueError, OSError) as exc:
        _fail(str(exc), code=1)
    report = summary.as_json()
    typer.echo(
        f"otklik tag: {summary.rows} rows, {summary.tagged} tagged, {summary.bad_rows} bad, "
        f"{summary.filtered} filtered, {summary.rate:.0f} rows/s, {summary.seconds:.1f} s"
        + (f"; bad rows in {errors_path(out)}" if out is not None and summary.bad_rows else ""),
        err=True,
    )
    typer.echo(json.dumps({"summary": report}, ensure_ascii=False), err=True)


@app.command()
def train(
    shared_data: Annotated[Optional[Path], typer.Option(help="the shared data folder (default ../shared/data)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="artifact folder (default: the bundled one)")] = None,
    only: Annotated[Optional[str], typer.Option(help="retrain only these components, comma-separated; keep the rest")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 13,
    feedback: Annotated[Optional[Path], typer.Option(help="curator corrections (otklik export-feedback) to add")] = None,
) -> None:
    """Train the model from ../shared/data and the project's own data; write the artifact.

    With --feedback, the curators' corrections are added to the training rows, and the report shows
    how the old and the new model agree with the curators on those posts.
    """
    import shutil
    import tempfile

    from model.errors import OtklikError
    from model.paths import DEFAULT_ARTIFACT, SHARED_DATA_DIR
    from training.train import run_train

    target = out or DEFAULT_ARTIFACT
    before = None
    if feedback is not None and (target / "meta.json").is_file():
        before = Path(tempfile.mkdtemp(prefix="otklik-before-")) / "artifact"
        shutil.copytree(target, before)
    try:
        artifact = run_train(
            shared_data or SHARED_DATA_DIR,
            target,
            only=[o.strip() for o in only.split(",")] if only else None,
            seed=seed,
            feedback=feedback,
        )
        typer.echo(f"otklik train: wrote {artifact.path} ({artifact.version})", err=True)
        if before is not None:
            from training.feedback import evaluate_feedback

            ev = evaluate_feedback(before, target, feedback, report=Path("reports"))
            typer.echo(f"otklik train: agreement with the curators' topics on their corrections "
                       f"{ev.before_topic:.3f} → {ev.after_topic:.3f} (groups {ev.before_group:.3f} → "
                       f"{ev.after_group:.3f}, n={ev.n}); report in reports/", err=True)
    except (OtklikError, OSError) as exc:
        _fail(str(exc), code=1)
    finally:
        if before is not None:
            shutil.rmtree(before.parent, ignore_errors=True)


@app.command()
def evaluate(
    data: Annotated[Optional[Path], typer.Option(help="posts with gold labels (.jsonl); default: the held-out splits")] = None,
    model_path: Annotated[Optional[Path], typer.Option(help="model artifact (default: the bundled one)")] = None,
    report: Annotated[Path, typer.Option(help="folder for the report and the confusion-matrix plot")] = Path("reports"),
) -> None:
    """Print metrics and write a report with a confusion-matrix plot."""
    from model.paths import DEFAULT_ARTIFACT
    from training.evaluate import run_evaluate

    run_evaluate(data, model_path or DEFAULT_ARTIFACT, report)


@app.command("hash-password")
def hash_password(
    iterations: Annotated[int, typer.Option(help="PBKDF2-SHA256 iterations")] = 600_000,
) -> None:
    """Print a password hash for OTKLIK_CURATORS (login:HASH:role, roles curator or admin)."""
    from service.web.auth import hash_password_command

    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    typer.echo(hash_password_command(password, iterations=iterations))


@app.command("export-feedback")
def export_feedback(
    out: Annotated[Path, typer.Option("--out", help="JSONL file for the curators' corrections")],
    database_url: Annotated[Optional[str], typer.Option(help="SQLAlchemy URL (default OTKLIK_DATABASE_URL)")] = None,
    include_accepted: Annotated[bool, typer.Option(help="also posts whose suggestion was accepted as it was")] = False,
) -> None:
    """Export the curators' corrections as training data (for `otklik train --feedback FILE`)."""
    from model.errors import OtklikError
    from service.settings import get_settings
    from training.feedback import export_feedback as run_export

    try:
        n = run_export(database_url or get_settings().database_url, out, include_accepted=include_accepted)
    except (OtklikError, OSError) as exc:
        _fail(str(exc), code=1)
    typer.echo(f"otklik export-feedback: {n} posts written to {out}", err=True)


def main() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
