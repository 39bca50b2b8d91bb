#!/opt/venv/bin/python
"""Run `mlflow server` for a dockyard stack, creating what it needs first.

Configured by environment variables only (the compose file sets them):

- MLFLOW_BACKEND_STORE_URI: used as given; otherwise, when POSTGRES_HOST is set, a PostgreSQL
  URI is built from POSTGRES_HOST/_PORT/_USER, POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE and
  MLFLOW_DATABASE (created when missing: the stack's postgres may have been initialised before
  mlflow joined it); otherwise SQLite in /mlflow.
- MLFLOW_ARTIFACTS_DESTINATION: s3://bucket (created when missing, through
  MLFLOW_S3_ENDPOINT_URL with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or a local folder.

The URI with the password reaches mlflow through its environment, never its command line.
Extra arguments are passed on to `mlflow server`.
"""

from __future__ import annotations

import os
import sys
import time


def read_password() -> str:
    path = os.environ.get("POSTGRES_PASSWORD_FILE")
    if path:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    return os.environ.get("POSTGRES_PASSWORD", "")


def postgres_uri() -> str:
    host = os.environ["POSTGRES_HOST"]
    port = os.environ.get("POSTGRES_PORT", "5432")
    user = os.environ.get("POSTGRES_USER", "postgres")
    database = os.environ.get("MLFLOW_DATABASE", "mlflow")
    ensure_database(host, port, user, read_password(), database)
    # The driver named: MLflow 3 would otherwise look for psycopg 3, which the image lacks.
    return f"postgresql+psycopg2://{user}:{read_password()}@{host}:{port}/{database}"


def ensure_database(host: str, port: str, user: str, password: str, database: str) -> None:
    import psycopg2

    for attempt in range(30):  # compose waits for healthy, but a restart may race the server
        try:
            conn = psycopg2.connect(host=host, port=port, user=user, password=password,
                                    dbname="postgres", connect_timeout=5)
            break
        except psycopg2.OperationalError:
            if attempt == 29:
                raise
            time.sleep(2)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{database}"')
            print(f"dockyard-mlflow: created database {database}", flush=True)
    conn.close()


def ensure_bucket(destination: str) -> None:
    import boto3

    bucket = destination.removeprefix("s3://").split("/", 1)[0]
    s3 = boto3.client("s3", endpoint_url=os.environ.get("MLFLOW_S3_ENDPOINT_URL"))
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
        print(f"dockyard-mlflow: created bucket {bucket}", flush=True)


def main() -> None:
    env = dict(os.environ)
    if not env.get("MLFLOW_BACKEND_STORE_URI"):
        env["MLFLOW_BACKEND_STORE_URI"] = (postgres_uri() if env.get("POSTGRES_HOST")
                                           else "sqlite:////mlflow/mlflow.db")
    destination = env.setdefault("MLFLOW_ARTIFACTS_DESTINATION", "/mlflow/artifacts")
    if destination.startswith("s3://"):
        ensure_bucket(destination)
    else:
        os.makedirs(destination, exist_ok=True)
    env.pop("POSTGRES_PASSWORD", None)
    argv = ["mlflow", "server", "--host", "0.0.0.0", "--port", env.get("MLFLOW_PORT", "5000"),
            "--artifacts-destination", destination, "--serve-artifacts", *sys.argv[1:]]
    os.execvpe("mlflow", argv, env)


if __name__ == "__main__":
    main()
