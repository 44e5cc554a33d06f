"""The deployment files render and say what docs/DEPLOY.md says they do.

Compose files are rendered by Docker Compose v2 (`docker compose config`), Kubernetes overlays by
`kubectl kustomize`, and every rendered core resource is validated, unknown fields refused, by
kubernetes-validate. It has no schema for KEDA's custom resources (ScaledJob, ScaledObject,
TriggerAuthentication): those are checked here field by field, and the Job spec a ScaledJob holds
is validated as a batch/v1 Job. A test skips, saying why, when its binary is missing (a fresh
machine); CI installs both and sets REQUIRE_DEPLOY_TOOLS, so there a missing one fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir())
KUBERNETES_VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]
KEDA_KINDS = {"ScaledJob", "ScaledObject", "TriggerAuthentication"}
# KEDA 2.x (keda.sh/v1alpha1) spec fields
SCALED_JOB_FIELDS = {
    "jobTargetRef", "pollingInterval", "successfulJobsHistoryLimit", "failedJobsHistoryLimit", "envSourceContainerName",
    "minReplicaCount", "maxReplicaCount", "rollout", "rolloutStrategy", "scalingStrategy", "triggers",
}  # fmt: skip
SCALED_OBJECT_FIELDS = {
    "scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount",
    "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers",
}  # fmt: skip
REDIS_TRIGGER_FIELDS = {"listName", "listLength", "activationListLength", "databaseIndex", "enableTLS", "unsafeSsl"}


# --- Docker image -------------------------------------------------------------------------------


def glob_regex(pattern: str) -> str:
    """A .dockerignore pattern (Go's filepath.Match plus ``**``) as a regular expression."""
    regex = ""
    for segment in pattern.strip("/").split("/"):
        if segment == "**":
            regex += "(?:[^/]+/)*"
            continue
        regex += "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in segment) + "/"
    return regex[:-1] if regex.endswith("/") else regex + ".*"


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether `docker build` leaves ``path`` out: the last pattern matching it or a folder above it wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = glob_regex(pattern.removeprefix("!"))
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            ignored = not negated
    return ignored


def test_the_image_leaves_out_state_secrets_and_the_virtualenv() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    left_out = ["data/secret_key", "data/db.sqlite3", "data/media/a.jpg", ".venv/bin/python", ".git/HEAD",
                "docker/.env", "ximilar_platform/__pycache__/settings.cpython-311.pyc", ".pytest_cache/v"]  # fmt: skip
    for path in left_out:
        assert dockerignored(path, patterns), f"{path} would be copied into the image"
    for path in ["manage.py", "requirements.txt", "ximilar_platform/settings.py", "inference/images.py",
                 "training/spec.py", "docker/healthcheck.sh", "docker/.env.example"]:  # fmt: skip
        assert not dockerignored(path, patterns), f"{path} is needed in the image"


def test_the_dockerfile_runs_as_a_user_with_healthchecks_and_no_baked_secret() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert any(line.startswith("HEALTHCHECK ") for line in instructions)
    assert not re.search(r"^(ENV|ARG)\b.*SECRET", text, re.MULTILINE)
    assert "ARG TORCH_VARIANT=cpu" in text and "cuda)" in text
    cmd = next(line for line in instructions if line.startswith("CMD "))
    assert "gunicorn" in cmd and "migrate" not in cmd  # migrations are a one-shot service, not every replica
    assert os.access(DOCKER / "healthcheck.sh", os.X_OK)
    # the ready models are exported at build, into the image and not into the per-container DATA_DIR
    assert "ENV READY_MODELS_DIR=/app/ready-models" in instructions
    export = next(line for line in instructions if "export_ready_models" in line)
    assert instructions.index(export) < instructions.index(next(i for i in instructions if i.startswith("USER ")))
    assert "READY_MODELS_DIR=\n" not in (DOCKER / ".env.example").read_text(), "an empty value would undo it"


# --- Docker Compose -----------------------------------------------------------------------------


def missing(tool: str) -> None:
    """Skip, or fail where the tools must be there (CI sets REQUIRE_DEPLOY_TOOLS and XIMILAR_REQUIRE_SERVICES,
    as .ci/run installs them)."""
    need(False, f"{tool} is missing", variable="REQUIRE_DEPLOY_TOOLS")


@cache
def compose_command() -> list[str] | None:
    """Docker Compose v2: the docker CLI's plugin, or its standalone binary."""
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]):
            done = subprocess.run([*command, "version"], capture_output=True, text=True)
            if done.returncode == 0 and re.search(r"v?[2-9]\.\d+", done.stdout):
                return command
    return None


@cache
def compose_config(*files: str) -> dict:
    command = compose_command()
    if command is None:
        missing("Docker Compose v2 (`docker compose`; .ci/run shows how to add the plugin)")
    arguments = ["--env-file", str(DOCKER / ".env.example")]
    for name in files:
        arguments += ["-f", str(DOCKER / name)]
    env = {**os.environ, "ENV_FILE": ".env.example"}  # the file docker/.env is copied from
    done = subprocess.run([*command, *arguments, "config", "--format", "json"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


BASE = ("docker-compose.yml",)
GPU = ("docker-compose.yml", "docker-compose.gpu.yml")
APP_SERVICES = {"migrate", "api", "worker"}


@pytest.mark.parametrize("files", [BASE, GPU], ids=["base", "gpu"])
def test_compose_services_are_healthchecked_ordered_and_share_only_the_servers(files) -> None:
    services = compose_config(*files)["services"]
    assert APP_SERVICES | {"postgres", "redis", "s3"} <= set(services)
    assert [name for name, service in services.items() if service.get("ports")] == ["api"]
    assert services["api"]["ports"][0]["target"] == 8000
    for name, service in services.items():
        if service.get("restart") == "no":  # a one-shot: the others wait for it to exit 0
            assert name == "migrate"
            continue
        assert service.get("healthcheck", {}).get("test") and not service["healthcheck"].get("disable"), name
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    apps = [name for name, service in services.items() if service.get("build")]
    for name in set(apps) - {"migrate"}:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert {depends[server]["condition"] for server in ("redis", "s3")} == {"service_healthy"}, name
        assert not services[name].get("volumes"), f"{name} has a volume: only Postgres, Redis and S3 are shared"
        environment = services[name]["environment"]
        assert environment["AWS_S3_ENDPOINT_URL"] == "http://s3:8333" and environment["AWS_STORAGE_BUCKET_NAME"]
        assert environment["REDIS_URL"].startswith("redis://redis:")
        assert environment["DATABASE_URL"].startswith("postgres://vision:")
        assert environment["AWS_ACCESS_KEY_ID"] == services["s3"]["environment"]["AWS_ACCESS_KEY_ID"]
        assert environment["AWS_SECRET_ACCESS_KEY"] == services["s3"]["environment"]["AWS_SECRET_ACCESS_KEY"]
    for server, target in [("postgres", "/var/lib/postgresql/data"), ("redis", "/data"), ("s3", "/data")]:
        assert [(v["type"], v["target"]) for v in services[server]["volumes"]] == [("volume", target)], server
    assert services["redis"]["command"][:3] == ["redis-server", "--appendonly", "yes"]
    assert services["s3"]["command"][0] == "mini" and "-bucket=media" in services["s3"]["command"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] in services["api"]["environment"]["DATABASE_URL"]


def queues_of(command: list[str]) -> set[str]:
    return set(command[command.index("--queues") + 1].split(","))


def test_compose_trains_on_the_cpu_worker_unless_the_gpu_override_adds_gpu_workers() -> None:
    base, gpu = compose_config(*BASE)["services"], compose_config(*GPU)["services"]
    assert queues_of(base["worker"]["command"]) == {"default", "inference", "training"}
    assert queues_of(gpu["worker"]["command"]) == {"default", "inference"}
    worker = gpu["gpu-worker"]
    command = " ".join(worker["command"])
    assert queues_of(worker["command"]) == {"training"}
    for option in ["--concurrency 1", "--prefetch-multiplier 1", "--max-tasks-per-child 1", "--disable-prefetch"]:
        assert option in command
    assert worker["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}
    ]
    assert worker["build"]["args"]["TORCH_VARIANT"] == "cuda" and worker["image"].endswith(":cuda")
    assert base["api"]["build"]["args"]["TORCH_VARIANT"] == "cpu"
    # onnxruntime on the GPU where one is (the CUDA image's onnxruntime-gpu has the provider), the CPU elsewhere
    assert worker["environment"]["INFERENCE_PROVIDERS"] == "CUDAExecutionProvider,CPUExecutionProvider"
    for services in (base, gpu):
        for name, service in services.items():
            if name != "gpu-worker" and "INFERENCE_PROVIDERS" in service.get("environment", {}):
                assert service["environment"]["INFERENCE_PROVIDERS"] == "CPUExecutionProvider", name


def test_compose_files_hold_no_secret_value() -> None:
    for name in ["docker-compose.yml", "docker-compose.gpu.yml"]:
        text = "\n".join(line.split("#")[0] for line in (DOCKER / name).read_text().splitlines())  # no comments
        assert "SECRET_KEY" not in text  # it comes from the env file only
        for key in ["POSTGRES_PASSWORD", "AWS_SECRET_ACCESS_KEY"]:
            assert not re.search(rf"\b{key}(?::\s+|=)(?!\$)\S", text), f"{key} has a literal value in {name}"


# --- Kubernetes ---------------------------------------------------------------------------------


@cache
def rendered(overlay: str) -> list[dict]:
    if not shutil.which("kubectl"):
        missing("kubectl (`kubectl kustomize` renders the overlays)")
    done = subprocess.run(["kubectl", "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def secret_example() -> dict:
    return yaml.safe_load((K8S / "secret.example.yaml").read_text())


def pod_specs(docs: list[dict]) -> dict[str, dict]:
    specs = {}
    for doc in docs:
        if doc["kind"] in {"Deployment", "Job"}:
            specs[doc["metadata"]["name"]] = doc["spec"]["template"]["spec"]
        elif doc["kind"] == "ScaledJob":
            specs[doc["metadata"]["name"]] = doc["spec"]["jobTargetRef"]["template"]["spec"]
    return specs


def one(docs: list[dict], kind: str, name: str) -> dict:
    [doc] = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name]
    return doc


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_resources_are_valid_kubernetes(overlay: str) -> None:
    without_schema = set()
    for doc in rendered(overlay):
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                without_schema.add(doc["kind"])
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{doc['kind']} {doc['metadata']['name']} (Kubernetes {version}): {error.message}")
        if doc["kind"] == "ScaledJob":  # what KEDA puts in each Job it creates
            job = {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "x"},
                "spec": doc["spec"]["jobTargetRef"],
            }
            for version in KUBERNETES_VERSIONS:
                kubernetes_validate.validate(job, version, strict=True)
    assert without_schema == KEDA_KINDS  # validated below instead
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(secret_example(), version, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_keda_resources_scale_on_the_queues_the_workers_consume(overlay: str) -> None:
    docs = rendered(overlay)
    config = next(doc for doc in docs if doc["kind"] == "ConfigMap")["data"]
    auths = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "TriggerAuthentication"}
    secret_keys = set(secret_example()["stringData"])
    for auth in auths.values():
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["name"] == "vision-secrets" and ref["key"] in secret_keys
            assert ref["parameter"] in {"address", "host", "port", "username", "password"}
    for doc in docs:
        if doc["kind"] not in {"ScaledJob", "ScaledObject"}:
            continue
        assert doc["apiVersion"] == "keda.sh/v1alpha1"
        fields = SCALED_JOB_FIELDS if doc["kind"] == "ScaledJob" else SCALED_OBJECT_FIELDS
        assert set(doc["spec"]) <= fields, set(doc["spec"]) - fields
        [trigger] = doc["spec"]["triggers"]
        assert trigger["type"] == "redis" and set(trigger["metadata"]) <= REDIS_TRIGGER_FIELDS
        assert all(isinstance(value, str) for value in trigger["metadata"].values())  # KEDA's metadata is strings
        assert trigger["authenticationRef"]["name"] in auths
        if doc["kind"] == "ScaledJob":
            assert doc["spec"]["scalingStrategy"]["strategy"] == "accurate"  # the list excludes taken messages
            assert doc["spec"]["jobTargetRef"]["backoffLimit"] == 0
            [container] = doc["spec"]["jobTargetRef"]["template"]["spec"]["containers"]
            command = container["command"]
            assert command[:3] == ["python", "manage.py", "run_one_job"]
            assert command[command.index("--queue") + 1] == trigger["metadata"]["listName"] == config["TRAINING_QUEUE"]
        else:
            target = one(docs, "Deployment", doc["spec"]["scaleTargetRef"]["name"])
            [container] = target["spec"]["template"]["spec"]["containers"]
            assert queues_of(container["command"]) == {trigger["metadata"]["listName"]} == {config["INFERENCE_QUEUE"]}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_take_settings_from_the_config_map_and_the_external_secret(overlay: str) -> None:
    docs = rendered(overlay)
    config_maps = {doc["metadata"]["name"] for doc in docs if doc["kind"] == "ConfigMap"}
    assert not [doc for doc in docs if doc["kind"] == "Secret"]  # applied by hand from secret.example.yaml
    example = secret_example()
    assert all("CHANGE-ME" in value for key, value in example["stringData"].items() if key != "REDIS_ADDRESS")
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(
        example["stringData"]
    )
    for doc in docs:
        for value in doc.get("data", {}):
            assert "SECRET" not in value and "PASSWORD" not in value, f"{value} in ConfigMap {doc['metadata']['name']}"
    for name, spec in pod_specs(docs).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            sources = container["envFrom"]
            assert {ref["configMapRef"]["name"] for ref in sources if "configMapRef" in ref} <= config_maps, name
            assert [ref["secretRef"]["name"] for ref in sources if "secretRef" in ref] == ["vision-secrets"], name
            assert not any(var["name"] in {"SECRET_KEY", "DATABASE_URL"} for var in container.get("env", [])), name
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert {mount["mountPath"] for mount in container["volumeMounts"]} >= {"/data", "/tmp"}, name
        assert all("persistentVolumeClaim" not in volume for volume in spec["volumes"]), name  # nothing shared


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_is_probed_served_and_autoscaled_and_migrations_run_once(overlay: str) -> None:
    docs = rendered(overlay)
    api = one(docs, "Deployment", "api")["spec"]["template"]["spec"]
    [container] = api["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert (
        one(docs, "Service", "api")["spec"]["selector"]
        == one(docs, "Deployment", "api")["spec"]["selector"]["matchLabels"]
    )
    assert one(docs, "HorizontalPodAutoscaler", "api")["spec"]["scaleTargetRef"]["name"] == "api"
    migrate = one(docs, "Job", "migrate")["spec"]["template"]["spec"]["containers"][0]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for name, spec in pod_specs(docs).items():
        for container in spec["containers"]:
            command = container.get("command", [])  # the API runs the image's CMD
            if command[:2] == ["celery", "-A"] or "run_one_job" in command:
                assert container["livenessProbe"]["exec"]["command"] == ["/app/docker/healthcheck.sh", "worker"], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gpu_overlay_asks_for_gpus_and_puts_trainings_on_them(overlay: str) -> None:
    specs = pod_specs(rendered(overlay))
    with_gpu = {
        name
        for name, spec in specs.items()
        if any("nvidia.com/gpu" in container["resources"].get("limits", {}) for container in spec["containers"])
    }
    providers = {
        name: {
            env["value"] for c in spec["containers"] for env in c.get("env", []) if env["name"] == "INFERENCE_PROVIDERS"
        }
        for name, spec in specs.items()
    }
    if overlay == "cpu-only":
        assert not with_gpu and all(":cuda" not in c["image"] for s in specs.values() for c in s["containers"])
        assert not any(providers.values())  # onnxruntime's default here: the CPU
        return
    assert {name for name, values in providers.items() if values} == with_gpu
    assert all(providers[name] == {"CUDAExecutionProvider,CPUExecutionProvider"} for name in with_gpu)
    assert with_gpu == {"training", "gpu-worker"}
    for name in with_gpu:
        spec = specs[name]
        [container] = spec["containers"]
        assert container["resources"]["limits"]["nvidia.com/gpu"] == 1 and container["image"].endswith(":cuda")
        assert (
            spec["nodeSelector"]
            and {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in (spec["tolerations"])
        )
    command = " ".join(specs["gpu-worker"]["containers"][0]["command"])
    assert "--queues training" in command and "--concurrency 1" in command and "--max-tasks-per-child 1" in command


def test_the_secret_example_is_in_no_kustomization() -> None:
    for path in K8S.rglob("kustomization.yaml"):
        kustomization = yaml.safe_load(path.read_text())
        assert not any("secret" in entry for entry in kustomization.get("resources", [])), path
