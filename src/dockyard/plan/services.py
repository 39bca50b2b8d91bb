"""The stack's data services as Workloads, and the settings they give to their clients.

Passwords live in `.env` only. Images that read a secret from a file get it as one (postgres:
POSTGRES_PASSWORD_FILE; redis and mlflow read /run/secrets/… in their command); the project's
containers get connection URLs made of secret references, which the target fills in at run
time, so no password is ever written into a generated file or an image.
"""

from __future__ import annotations

from dataclasses import replace

from dockyard.naming import LOCAL_PREFIX
from dockyard.spec.stack import ServiceSpec, StackSpec
from dockyard.workload import (
    Dependency,
    EnvVar,
    Mount,
    Port,
    Probe,
    Resources,
    SecretFile,
    SecretRef,
    Workload,
    env,
    merge_env,
    plain_env,
)

# .env variables, per kind that needs one.
ENV_SECRETS = {"postgres": "POSTGRES_PASSWORD", "redis": "REDIS_PASSWORD",
               "minio": "MINIO_ROOT_PASSWORD"}
# Secrets given as files (/run/secrets/<name>), made from those variables.
FILE_SECRETS = {"postgres": "postgres_password", "redis": "redis_password"}
DATA_KINDS = ("postgres", "redis", "minio", "mlflow", "spark")
STATEFUL_KINDS = ("postgres", "redis", "minio", "mlflow")
MINIO_USER = "dockyard"
MLFLOW_DATABASE = "mlflow"
MLFLOW_BUCKET = "mlflow"
SPARK_CLASS = "/opt/spark/bin/spark-class"
# The master's and workers' own JVMs (spark-class reads it); 1g by default would not leave
# room under the containers' limits for executors and Python workers.
DAEMON_MEMORY = (env("SPARK_DAEMON_MEMORY", "512m"),)


def volume_name(svc: ServiceSpec) -> str:
    return f"{svc.name}-data"


def _secret(kind: str) -> SecretRef:
    return SecretRef(ENV_SECRETS[kind])


def _file_secret(kind: str) -> SecretFile:
    return SecretFile(FILE_SECRETS[kind], _secret(kind))


def data_workloads(svc: ServiceSpec, stack: StackSpec, project: str) -> tuple[Workload, ...]:
    """The Workload(s) of one data service: spark gives a master and its workers."""
    build = {"postgres": _postgres, "redis": _redis, "minio": _minio, "mlflow": _mlflow,
             "spark": _spark_master}[svc.kind]
    base = Workload(name=svc.name, role=svc.kind, project=project, image=svc.image,
                    restart="unless-stopped", local_image=svc.image.startswith(LOCAL_PREFIX),
                    resources=Resources(svc.resources.cpus, svc.resources.memory),
                    ports=published_ports(svc))
    main = build(svc, stack, base)
    main = replace(main, env=merge_env(main.env, plain_env(svc.env)))
    if svc.kind == "spark":
        return main, _spark_worker(svc, base)
    return (main,)


def published_ports(svc: ServiceSpec) -> tuple[Port, ...]:
    return tuple(Port(p.port, p.target, p.host) for p in svc.ports)


def _volume(svc: ServiceSpec, target: str) -> tuple[Mount, ...]:
    return (Mount(volume_name(svc), target, kind="volume"),)


def _postgres(svc: ServiceSpec, stack: StackSpec, base: Workload) -> Workload:
    # PostgreSQL 18's official image keeps its data one level up, in a versioned folder.
    major = int(svc.version.split(".")[0]) if svc.version.split(".")[0].isdigit() else 0
    target = "/var/lib/postgresql" if major >= 18 else "/var/lib/postgresql/data"
    return replace(
        base,
        env=(env("POSTGRES_USER", svc.user), env("POSTGRES_DB", svc.database),
             env("POSTGRES_PASSWORD_FILE", "/run/secrets/postgres_password")),
        secret_files=(_file_secret("postgres"),), mounts=_volume(svc, target),
        # TCP, not the socket: during initialisation the server only listens on its socket.
        probe=Probe(command=("pg_isready", "-h", "127.0.0.1", "-U", svc.user, "-d",
                             svc.database), interval="3s", start_period="60s", retries=20),
    )


def _redis(svc: ServiceSpec, stack: StackSpec, base: Workload) -> Workload:
    # The password file is read by a shell in the container: it never appears in a file.
    # `exec docker-entrypoint.sh` keeps the image's own start-up (drop to the redis user).
    start = ('exec docker-entrypoint.sh redis-server --appendonly yes '
             '--requirepass "$(cat /run/secrets/redis_password)"')
    ping = 'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli ping | grep -q PONG'
    return replace(base, command=("sh", "-c", start), secret_files=(_file_secret("redis"),),
                   mounts=_volume(svc, "/data"), probe=Probe(shell=ping, interval="3s"))


def _minio(svc: ServiceSpec, stack: StackSpec, base: Workload) -> Workload:
    return replace(base, command=("server", "/data", "--console-address", ":9001"),
                   env=(env("MINIO_ROOT_USER", MINIO_USER),
                        EnvVar("MINIO_ROOT_PASSWORD", (_secret("minio"),))),
                   mounts=_volume(svc, "/data"), probe=Probe(command=("mc", "ready", "local")))


def _mlflow(svc: ServiceSpec, stack: StackSpec, base: Workload) -> Workload:
    """Backed by the stack's postgres and minio when it has them, else by its own volume."""
    variables: list[EnvVar] = []
    depends: list[Dependency] = []
    files: tuple[SecretFile, ...] = ()
    pg, s3 = stack.service("postgres"), stack.service("minio")
    if pg:
        variables += [env("POSTGRES_HOST", pg.name), env("POSTGRES_PORT", "5432"),
                      env("POSTGRES_USER", pg.user),
                      env("POSTGRES_PASSWORD_FILE", "/run/secrets/postgres_password"),
                      env("MLFLOW_DATABASE", MLFLOW_DATABASE)]
        files = (_file_secret("postgres"),)
        depends.append(Dependency(pg.name))
    if s3:
        variables += [env("MLFLOW_ARTIFACTS_DESTINATION", f"s3://{MLFLOW_BUCKET}"),
                      env("MLFLOW_S3_ENDPOINT_URL", f"http://{s3.name}:9000"),
                      env("AWS_ACCESS_KEY_ID", MINIO_USER),
                      EnvVar("AWS_SECRET_ACCESS_KEY", (_secret("minio"),))]
        depends.append(Dependency(s3.name))
    else:
        variables.append(env("MLFLOW_ARTIFACTS_DESTINATION", "/mlflow/artifacts"))
    # MLflow 3 rejects unknown Host headers (DNS rebinding): allow its service name and
    # loopback on any port (the published one).
    hosts = f"{svc.name},{svc.name}:5000,localhost,localhost:*,127.0.0.1,127.0.0.1:*"
    return replace(base, command=("--workers", "1", "--allowed-hosts", hosts),
                   env=tuple(variables), secret_files=files, mounts=_volume(svc, "/mlflow"),
                   depends_on=tuple(depends),
                   probe=Probe(http="http://127.0.0.1:5000/health", start_period="90s"))


def _spark_master(svc: ServiceSpec, stack: StackSpec, base: Workload) -> Workload:
    return replace(base, command=(SPARK_CLASS, "org.apache.spark.deploy.master.Master",
                                  "--host", svc.name, "--port", "7077", "--webui-port", "8080"),
                   env=DAEMON_MEMORY,
                   probe=Probe(http="http://127.0.0.1:8080", start_period="60s"))


def _spark_worker(svc: ServiceSpec, base: Workload) -> Workload:
    # The worker's own JVM and Python workers need room beyond what it offers executors.
    limit = memory_mb(svc.worker_memory) + 1024
    return replace(
        base, name=f"{svc.name}-worker", role="spark-worker", ports=(),
        command=(SPARK_CLASS, "org.apache.spark.deploy.worker.Worker",
                 f"spark://{svc.name}:7077", "--cores", str(svc.worker_cores),
                 "--memory", svc.worker_memory, "--webui-port", "8081"),
        depends_on=(Dependency(svc.name),),
        probe=Probe(http="http://127.0.0.1:8081", start_period="60s"),
        env=merge_env(DAEMON_MEMORY, plain_env(svc.env)),
        resources=Resources(svc.resources.cpus, f"{limit}m"), replicas=svc.workers,
    )


def memory_mb(value: str) -> int:
    """'512m', '2g', '1.5GiB' → MiB (what Spark's --memory and limits need)."""
    text = value.strip().lower().rstrip("b").rstrip("i").strip()
    factor = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}.get(text[-1:], 1 / 2**20)
    number = text.rstrip("kmgt").strip()
    return max(1, int(float(number) * factor))


def client_env(stack: StackSpec) -> tuple[EnvVar, ...]:
    """Connection settings for the project's containers: standard names libraries read."""
    variables: list[EnvVar] = []
    if pg := stack.service("postgres"):
        password = _secret("postgres")
        variables += [
            EnvVar("DATABASE_URL", (f"postgresql://{pg.user}:", password,
                                    f"@{pg.name}:5432/{pg.database}")),
            env("PGHOST", pg.name), env("PGPORT", "5432"), env("PGUSER", pg.user),
            env("PGDATABASE", pg.database), EnvVar("PGPASSWORD", (password,))]
    if redis := stack.service("redis"):
        variables.append(EnvVar("REDIS_URL", ("redis://:", _secret("redis"),
                                              f"@{redis.name}:6379/0")))
    if s3 := stack.service("minio"):
        endpoint = f"http://{s3.name}:9000"
        variables += [env("S3_ENDPOINT_URL", endpoint), env("AWS_ENDPOINT_URL_S3", endpoint),
                      env("AWS_ACCESS_KEY_ID", MINIO_USER),
                      EnvVar("AWS_SECRET_ACCESS_KEY", (_secret("minio"),)),
                      env("AWS_DEFAULT_REGION", "us-east-1")]
    if mlflow := stack.service("mlflow"):
        variables.append(env("MLFLOW_TRACKING_URI", f"http://{mlflow.name}:5000"))
    if spark := stack.service("spark"):
        variables.append(env("SPARK_MASTER_URL", f"spark://{spark.name}:7077"))
    return tuple(variables)


def env_secrets(stack: StackSpec) -> list[str]:
    """The .env variables this stack's services need a generated password in."""
    return [ENV_SECRETS[s.kind] for s in stack.services if s.kind in ENV_SECRETS]
