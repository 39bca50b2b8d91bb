"""Compose definitions of the data services, and the settings they give to their clients.

Passwords live in `.env` only. Images that read a secret from a file get it as a Compose secret
(postgres: POSTGRES_PASSWORD_FILE; redis and mlflow read /run/secrets/… in their command); the
project's containers get connection URLs through `${…}` references, which Compose fills in from
`.env` at run time, so no password is ever written into compose.yaml or an image.
"""

from __future__ import annotations

from dockyard.naming import LOCAL_PREFIX
from dockyard.spec.stack import ServiceSpec, StackSpec
from dockyard.stack import parts
from dockyard.stack.parts import Doc, ref

# .env variables, per kind that needs one.
ENV_SECRETS = {"postgres": "POSTGRES_PASSWORD", "redis": "REDIS_PASSWORD",
               "minio": "MINIO_ROOT_PASSWORD"}
# Compose secrets (files in /run/secrets) made from those variables.
FILE_SECRETS = {"postgres": "postgres_password", "redis": "redis_password"}
MINIO_USER = "dockyard"
MLFLOW_DATABASE = "mlflow"
MLFLOW_BUCKET = "mlflow"


def volume_name(svc: ServiceSpec) -> str:
    return f"{svc.name}-data"


def data_service(svc: ServiceSpec, stack: StackSpec, project_key: str) -> dict[str, Doc]:
    """The Compose service(s) of one data service: spark gives a master and its workers."""
    build = {"postgres": _postgres, "redis": _redis, "minio": _minio, "mlflow": _mlflow,
             "spark": _spark_master}[svc.kind]
    doc: Doc = {"image": svc.image, "restart": "unless-stopped", **build(svc, stack),
                **parts.common(project_key, svc.kind)}
    if svc.image.startswith(LOCAL_PREFIX):
        doc["pull_policy"] = "never"  # built by `dockyard base --services`, never on a registry
    if svc.env:
        doc["environment"] = {**doc.get("environment", {}), **parts.env_doc(svc.env)}
    result = {svc.name: parts.finish(doc, deploy_doc=parts.deploy(svc.resources),
                                     published=svc.ports)}
    if svc.kind == "spark":
        result[f"{svc.name}-worker"] = _spark_worker(svc, project_key)
    return result


def _volume(svc: ServiceSpec, target: str) -> list[Doc]:
    return [{"type": "volume", "source": volume_name(svc), "target": target}]


def _postgres(svc: ServiceSpec, stack: StackSpec) -> Doc:
    # PostgreSQL 18's official image keeps its data one level up, in a versioned folder.
    major = int(svc.version.split(".")[0]) if svc.version.split(".")[0].isdigit() else 0
    target = "/var/lib/postgresql" if major >= 18 else "/var/lib/postgresql/data"
    return {
        "environment": {"POSTGRES_USER": svc.user, "POSTGRES_DB": svc.database,
                        "POSTGRES_PASSWORD_FILE": "/run/secrets/postgres_password"},
        "secrets": [FILE_SECRETS["postgres"]],
        "volumes": _volume(svc, target),
        # TCP, not the socket: during initialisation the server only listens on its socket.
        "healthcheck": parts.healthcheck(["CMD", "pg_isready", "-h", "127.0.0.1", "-U",
                                          svc.user, "-d", svc.database],
                                         interval="3s", start="60s", retries=20),
    }


def _redis(svc: ServiceSpec, stack: StackSpec) -> Doc:
    # The password file is read by a shell in the container: it never appears in this file.
    # `exec docker-entrypoint.sh` keeps the image's own start-up (drop to the redis user).
    start = ('exec docker-entrypoint.sh redis-server --appendonly yes '
             '--requirepass "$$(cat /run/secrets/redis_password)"')
    ping = 'REDISCLI_AUTH="$$(cat /run/secrets/redis_password)" redis-cli ping | grep -q PONG'
    return {"command": ["sh", "-c", start], "secrets": [FILE_SECRETS["redis"]],
            "volumes": _volume(svc, "/data"),
            "healthcheck": parts.healthcheck(["CMD-SHELL", ping], interval="3s")}


def _minio(svc: ServiceSpec, stack: StackSpec) -> Doc:
    return {"command": ["server", "/data", "--console-address", ":9001"],
            "environment": {"MINIO_ROOT_USER": MINIO_USER,
                            "MINIO_ROOT_PASSWORD": ref(ENV_SECRETS["minio"])},
            "volumes": _volume(svc, "/data"),
            "healthcheck": parts.healthcheck(["CMD", "mc", "ready", "local"])}


def _mlflow(svc: ServiceSpec, stack: StackSpec) -> Doc:
    """Backed by the stack's postgres and minio when it has them, else by its own volume."""
    env: Doc = {}
    doc: Doc = {"volumes": _volume(svc, "/mlflow"), "depends_on": {}}
    pg, s3 = stack.service("postgres"), stack.service("minio")
    if pg:
        env |= {"POSTGRES_HOST": pg.name, "POSTGRES_PORT": "5432", "POSTGRES_USER": pg.user,
                "POSTGRES_PASSWORD_FILE": "/run/secrets/postgres_password",
                "MLFLOW_DATABASE": MLFLOW_DATABASE}
        doc["secrets"] = [FILE_SECRETS["postgres"]]
        doc["depends_on"][pg.name] = {"condition": "service_healthy"}
    if s3:
        env |= {"MLFLOW_ARTIFACTS_DESTINATION": f"s3://{MLFLOW_BUCKET}",
                "MLFLOW_S3_ENDPOINT_URL": f"http://{s3.name}:9000",
                "AWS_ACCESS_KEY_ID": MINIO_USER,
                "AWS_SECRET_ACCESS_KEY": ref(ENV_SECRETS["minio"])}
        doc["depends_on"][s3.name] = {"condition": "service_healthy"}
    else:
        env["MLFLOW_ARTIFACTS_DESTINATION"] = "/mlflow/artifacts"
    if not doc["depends_on"]:
        del doc["depends_on"]
    # MLflow 3 rejects unknown Host headers (DNS rebinding): allow its service name and
    # loopback on any port (the published one).
    hosts = f"{svc.name},{svc.name}:5000,localhost,localhost:*,127.0.0.1,127.0.0.1:*"
    return {"command": ["--workers", "1", "--allowed-hosts", hosts], "environment": env, **doc,
            "healthcheck": parts.healthcheck(parts.http_check("http://127.0.0.1:5000/health"),
                                             start="90s")}


SPARK_CLASS = "/opt/spark/bin/spark-class"


# The master's and workers' own JVMs (spark-class reads it); 1g by default would not leave
# room under the containers' limits for executors and Python workers.
DAEMON_MEMORY = {"SPARK_DAEMON_MEMORY": "512m"}


def _spark_master(svc: ServiceSpec, stack: StackSpec) -> Doc:
    return {"command": [SPARK_CLASS, "org.apache.spark.deploy.master.Master", "--host",
                        svc.name, "--port", "7077", "--webui-port", "8080"],
            "environment": dict(DAEMON_MEMORY),
            "healthcheck": parts.healthcheck(parts.http_check("http://127.0.0.1:8080"),
                                             start="60s")}


def _spark_worker(svc: ServiceSpec, project_key: str) -> Doc:
    # The worker's own JVM and Python workers need room beyond what it offers executors.
    limit = parts.memory_mb(svc.worker_memory) + 1024
    doc: Doc = {
        "image": svc.image, "restart": "unless-stopped",
        "command": [SPARK_CLASS, "org.apache.spark.deploy.worker.Worker",
                    f"spark://{svc.name}:7077", "--cores", str(svc.worker_cores),
                    "--memory", svc.worker_memory, "--webui-port", "8081"],
        "depends_on": {svc.name: {"condition": "service_healthy"}},
        "healthcheck": parts.healthcheck(parts.http_check("http://127.0.0.1:8081"),
                                         start="60s"),
        **parts.common(project_key, "spark-worker"),
    }
    if svc.image.startswith(LOCAL_PREFIX):
        doc["pull_policy"] = "never"
    doc["environment"] = {**DAEMON_MEMORY, **parts.env_doc(svc.env)}
    resources = type(svc.resources)(svc.resources.cpus, f"{limit}m")
    return parts.finish(doc, deploy_doc=parts.deploy(resources, replicas=svc.workers),
                        published=())


def client_env(stack: StackSpec) -> Doc:
    """Connection settings for the project's containers: standard names libraries read."""
    env: Doc = {}
    if pg := stack.service("postgres"):
        password = ref(ENV_SECRETS["postgres"])
        env |= {"DATABASE_URL": f"postgresql://{pg.user}:{password}@{pg.name}:5432/"
                                f"{pg.database}",
                "PGHOST": pg.name, "PGPORT": "5432", "PGUSER": pg.user,
                "PGDATABASE": pg.database, "PGPASSWORD": password}
    if redis := stack.service("redis"):
        env["REDIS_URL"] = f"redis://:{ref(ENV_SECRETS['redis'])}@{redis.name}:6379/0"
    if s3 := stack.service("minio"):
        endpoint = f"http://{s3.name}:9000"
        env |= {"S3_ENDPOINT_URL": endpoint, "AWS_ENDPOINT_URL_S3": endpoint,
                "AWS_ACCESS_KEY_ID": MINIO_USER,
                "AWS_SECRET_ACCESS_KEY": ref(ENV_SECRETS["minio"]),
                "AWS_DEFAULT_REGION": "us-east-1"}
    if mlflow := stack.service("mlflow"):
        env["MLFLOW_TRACKING_URI"] = f"http://{mlflow.name}:5000"
    if spark := stack.service("spark"):
        env["SPARK_MASTER_URL"] = f"spark://{spark.name}:7077"
    return env


def env_secrets(stack: StackSpec) -> list[str]:
    """The .env variables this stack's services need a generated password in."""
    return [ENV_SECRETS[s.kind] for s in stack.services if s.kind in ENV_SECRETS]


def compose_secrets(stack: StackSpec) -> Doc:
    return {FILE_SECRETS[s.kind]: {"environment": ENV_SECRETS[s.kind]}
            for s in stack.services if s.kind in FILE_SECRETS}
