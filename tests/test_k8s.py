"""The deployment: Dockerfiles, Kubernetes manifests (rendered, validated) and the compose file.

Every service under `services/` must have a Dockerfile and a Kustomize base; every overlay
renders, every object validates against the Kubernetes (or vendored Strimzi) schemas; each
service has its Deployment (hardened, probed, migrated first), Service, autoscaler, budget and
network policy; every topic a service's settings name has a KafkaTopic and an ACL; the prod
configuration is one the services' settings accept in production, and in it every service
authenticates to Kafka as its KafkaUser (SCRAM-SHA-512 over TLS); and no manifest holds a
secret value.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from functools import cache
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet
from pydantic_settings import BaseSettings

from shared_kit.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "k8s"
SERVICES = sorted(p.name for p in (REPO / "services").iterdir() if (p / "pyproject.toml").exists())
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
GATEWAY_PATHS = ["/.well-known", "/oauth", "/login", "/logout", "/api/v1/gateway"]
# Services that neither publish nor consume events (ServiceSpec.broker=False): no topic, no
# KafkaUser, no broker settings.
BROKERLESS = {"portal"}
# Where the Ingress routes a service's public paths (the portal: a host of its own, at /).
PUBLIC_PATHS = {"gateway": GATEWAY_PATHS, "portal": ["/"]}
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PEPPER|_PEM|_KEY|TOKEN|DATABASE_URL)$")
SECRET_VALUE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|://[^/\s:@]+:[^/\s@]+@")


def load_check() -> ModuleType:
    """`k8s/check.py`, the module `make k8s-check` runs."""
    spec = importlib.util.spec_from_file_location("k8s_check", K8S / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["k8s_check"] = module
    spec.loader.exec_module(module)
    return module


check = load_check()


@cache
def rendered(tree: str) -> tuple[dict[str, Any], ...]:
    """The objects of a rendered tree (`base` or `overlays/<name>`)."""
    return tuple(check.render(K8S / tree))


def objects(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    """Objects of a kind in an overlay, by name."""
    return {o["metadata"]["name"]: o for o in rendered(f"overlays/{overlay}") if o["kind"] == kind}


def settings_class(service: str) -> type[ServiceSettings]:
    """The service's settings class (the ServiceSettings subclass its config module defines)."""
    module = importlib.import_module(f"{service}_service.config")
    found = [
        v
        for v in vars(module).values()
        if isinstance(v, type)
        and issubclass(v, ServiceSettings)
        and v.__module__ == module.__name__
    ]
    assert len(found) == 1, f"{module.__name__}: {found}"
    return found[0]


def prefix(service: str) -> str:
    """The service's environment prefix."""
    return str(settings_class(service).model_config["env_prefix"])


def topics_of(service: str) -> tuple[str, set[str]]:
    """(the topic it publishes, the topics it consumes) by its settings' defaults."""
    fields = settings_class(service).model_fields
    topics = {n: f.default for n, f in fields.items() if n.endswith("_topic")}
    published = topics.pop("events_topic")
    return published, set(topics.values())


def deployment(overlay: str, service: str) -> dict[str, Any]:
    """A service's Deployment in an overlay."""
    found = objects(overlay, "Deployment")
    assert service in found, f"no Deployment {service} in {overlay}"
    return found[service]


def walk_strings(node: Any) -> list[str]:
    """Every string anywhere in a document."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in walk_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in walk_strings(v)]
    return [node] if isinstance(node, str) else []


class TestRenderingAndSchemas:
    """Every tree renders with kubectl kustomize and every object validates offline."""

    @pytest.mark.parametrize("tree", ["base", *(f"overlays/{o}" for o in OVERLAYS)])
    def test_renders_and_validates(self, tree: str) -> None:
        invalid = [
            p for p in (check.validate(o, check.DEFAULT_VERSION) for o in rendered(tree)) if p
        ]
        assert rendered(tree), f"{tree} rendered nothing"
        assert not invalid, invalid

    def test_there_are_dev_and_prod_overlays(self) -> None:
        assert {"dev", "prod"} <= set(OVERLAYS)

    def test_the_validator_rejects_an_unknown_field(self) -> None:
        broken = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                  "spec": {"ports": [{"port": 80, "targetPort": "http", "protcol": "TCP"}]}}  # fmt: skip
        assert "protcol" in (check.validate(broken, check.DEFAULT_VERSION) or "")

    def test_dockerfiles_pass_hadolint(self) -> None:
        assert check.hadolint(check.dockerfiles()) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
class TestEveryService:
    """Each service is deployed the same hardened way in every overlay."""

    def test_deployment_is_hardened_probed_and_sized(self, overlay: str, service: str) -> None:
        pod = deployment(overlay, service)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == service
        (app,) = pod["containers"]
        assert app["image"].rsplit("/", 1)[-1].split(":")[0] == service
        assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert app["startupProbe"]["httpGet"]["path"] == "/healthz"
        for container in [app, *pod["initContainers"]]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), container["name"]

    def test_migrations_run_before_the_app(self, overlay: str, service: str) -> None:
        pod = deployment(overlay, service)["spec"]["template"]["spec"]
        (migrate,) = pod["initContainers"]
        assert migrate["command"] == ["python", "-m", "shared_kit.migrations", f"{service}_service"]
        assert migrate["image"] == pod["containers"][0]["image"]
        names = {e["name"] for e in migrate["env"]}
        assert f"{prefix(service)}DATABASE_URL" in names

    def test_service_autoscaler_budget_and_network_policy_select_it(
        self, overlay: str, service: str
    ) -> None:
        labels = deployment(overlay, service)["spec"]["template"]["metadata"]["labels"]
        svc = objects(overlay, "Service")[service]
        assert svc["spec"]["selector"].items() <= labels.items()
        assert svc["spec"]["ports"][0]["targetPort"] == "http"
        hpa = objects(overlay, "HorizontalPodAutoscaler")[service]
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1", "kind": "Deployment", "name": service
        }  # fmt: skip
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        pdb = objects(overlay, "PodDisruptionBudget")[service]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        policy = objects(overlay, "NetworkPolicy")[service]
        assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
        egress = objects(overlay, "NetworkPolicy")["datori-egress"]
        assert egress["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
        assert objects(overlay, "ServiceAccount")[service]

    def test_ingress_routes_its_public_paths(self, overlay: str, service: str) -> None:
        (ingress,) = objects(overlay, "Ingress").values()
        routes = {
            p["path"]: p["backend"]["service"]["name"]
            for rule in ingress["spec"]["rules"]
            for p in rule["http"]["paths"]
        }
        paths = PUBLIC_PATHS.get(service, [f"/api/v1/{service}"])
        assert {p: routes.get(p) for p in paths} == dict.fromkeys(paths, service)

    def test_its_topics_exist_with_acls(self, overlay: str, service: str) -> None:
        if service in BROKERLESS:
            assert service not in objects(overlay, "KafkaUser")
            return
        published, consumed = topics_of(service)
        topics = {t["spec"]["topicName"] for t in objects(overlay, "KafkaTopic").values()}
        assert {published, *consumed} <= topics
        acls = objects(overlay, "KafkaUser")[service]["spec"]["authorization"]["acls"]
        allowed = {
            (a["resource"].get("name"), op)
            for a in acls
            if a["resource"]["type"] == "topic"
            for op in a["operations"]
        }
        assert (published, "Write") in allowed
        assert {(t, "Read") for t in consumed} <= allowed

    def test_its_settings_are_real_and_accepted_in_production(
        self, overlay: str, service: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        app = deployment(overlay, service)["spec"]["template"]["spec"]["containers"][0]
        (ref,) = app["envFrom"]
        config = objects(overlay, "ConfigMap")[ref["configMapRef"]["name"]]["data"]
        cls, p = settings_class(service), prefix(service)
        ours = {k: v for k, v in config.items() if k.startswith(p)}
        unknown = [k for k in ours if k.removeprefix(p).lower() not in cls.model_fields]
        assert not unknown, f"not settings of {service}: {unknown}"
        for name, value in ours.items():
            monkeypatch.setenv(name, value)
        for entry in app["env"]:
            monkeypatch.setenv(entry["name"], fake_secret(entry["name"]))
        settings: BaseSettings = cls()  # raises when production refuses something
        assert str(getattr(settings, "environment", "")) == "prod"


def app_environment(overlay: str, service: str) -> dict[str, str]:
    """The app container's environment: its ConfigMap, then its env (secrets faked)."""
    app = deployment(overlay, service)["spec"]["template"]["spec"]["containers"][0]
    (ref,) = app["envFrom"]
    env = dict(objects(overlay, "ConfigMap")[ref["configMapRef"]["name"]]["data"])
    for entry in app.get("env", []):
        env[entry["name"]] = entry["value"] if "value" in entry else fake_secret(entry["name"])
    return env


def app_settings(overlay: str, service: str, monkeypatch: pytest.MonkeyPatch) -> ServiceSettings:
    """The service's settings as its app container in the overlay would read them."""
    p = prefix(service)
    for name in [n for n in os.environ if n.startswith(p)]:
        monkeypatch.delenv(name)
    for name, value in app_environment(overlay, service).items():
        monkeypatch.setenv(name, value)
    return settings_class(service)()


@pytest.mark.parametrize("service", sorted(BROKERLESS))
def test_a_service_without_a_broker_gets_no_kafka_user(service: str) -> None:
    app = deployment("prod", service)["spec"]["template"]["spec"]["containers"][0]
    names = {e["name"] for e in app.get("env", [])}
    assert f"{prefix(service)}KAFKA_SASL_PASSWORD" not in names
    assert service not in objects("prod", "KafkaUser")


@pytest.mark.parametrize("service", [s for s in SERVICES if s not in BROKERLESS])
class TestKafkaAuthentication:
    """In prod each service logs in to Kafka as its KafkaUser over TLS; dev stays plain."""

    def test_prod_uses_sasl_ssl_as_its_kafka_user(
        self, service: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        settings = app_settings("prod", service, monkeypatch)
        assert settings.kafka_security_protocol == "SASL_SSL"
        assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
        assert settings.kafka_enable_idempotence is True
        user = objects("prod", "KafkaUser").get(settings.kafka_sasl_username or "")
        assert user is not None, f"no KafkaUser {settings.kafka_sasl_username!r} in prod"
        assert user["metadata"]["name"] == service
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        cluster = user["metadata"]["labels"]["strimzi.io/cluster"]
        host, _, port = settings.kafka_bootstrap_servers.partition(":")
        assert host.split(".")[0] == f"{cluster}-kafka-bootstrap"
        assert port == "9093", "the TLS listener"

    def test_prod_password_comes_from_the_kafka_users_secret(self, service: str) -> None:
        app = deployment("prod", service)["spec"]["template"]["spec"]["containers"][0]
        (entry,) = [e for e in app["env"] if e["name"] == f"{prefix(service)}KAFKA_SASL_PASSWORD"]
        assert "value" not in entry
        ref = entry["valueFrom"]["secretKeyRef"]
        assert ref == {"name": service, "key": "password"}
        assert ref["name"] in objects("prod", "KafkaUser")

    def test_prod_ca_file_is_the_mounted_cluster_ca(
        self, service: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cafile = PurePosixPath(app_settings("prod", service, monkeypatch).kafka_ssl_cafile or "")
        pod = deployment("prod", service)["spec"]["template"]["spec"]
        mounts = [m for m in pod["containers"][0]["volumeMounts"]
                  if cafile.is_relative_to(m["mountPath"])]  # fmt: skip
        assert len(mounts) == 1, f"{cafile} is not on one volume mount: {mounts}"
        (mount,) = mounts
        assert mount["readOnly"] is True
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        cluster = objects("prod", "KafkaUser")[service]["metadata"]["labels"]["strimzi.io/cluster"]
        assert volume["secret"]["secretName"] == f"{cluster}-cluster-ca-cert"
        relative = str(cafile.relative_to(mount["mountPath"]))
        assert {"key": "ca.crt", "path": relative} in volume["secret"]["items"]

    def test_dev_stays_unauthenticated(self, service: str, monkeypatch: pytest.MonkeyPatch) -> None:
        settings = app_settings("dev", service, monkeypatch)
        assert settings.kafka_security_protocol == "PLAINTEXT"
        assert settings.kafka_sasl_username is None
        assert settings.kafka_sasl_password is None
        assert settings.kafka_ssl_cafile is None
        pod = deployment("dev", service)["spec"]["template"]["spec"]
        secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        assert not [s for s in secrets if s.endswith("-cluster-ca-cert")]


class TestKafkaEgress:
    """The broker port the services may reach is the one they use."""

    @staticmethod
    def broker_ports(overlay: str) -> set[int]:
        """The ports the egress policy opens towards the namespace kafka."""
        egress = objects(overlay, "NetworkPolicy")["datori-egress"]["spec"]["egress"]
        return {
            port["port"]
            for rule in egress
            for peer in rule["to"]
            if peer.get("namespaceSelector", {}).get("matchLabels", {})
            == {"kubernetes.io/metadata.name": "kafka"}
            for port in rule["ports"]
        }

    def test_prod_reaches_only_the_tls_listener(self) -> None:
        assert self.broker_ports("prod") == {9093}

    def test_dev_reaches_the_plain_listener(self) -> None:
        assert 9092 in self.broker_ports("dev")


def fake_secret(name: str) -> str:
    """A well-formed stand-in for a secret the Deployment reads from its Secret."""
    if name.endswith("DATABASE_URL"):
        return "postgresql+asyncpg://svc@db.internal:5432/svc"
    keys = ("ENCRYPTION_KEY", "PERSONAL_CODE_KEY", "SESSION_KEY", "CONTACT_KEY", "ANSWERS_KEY")
    if name.endswith(keys):
        return Fernet.generate_key().decode()
    if name.endswith("PERSONAL_CODE"):
        return "010190-10001"
    return "x" * 48


class TestNoSecretValues:
    """Manifests reference Secrets; they never carry a secret's value."""

    @pytest.mark.parametrize("tree", ["base", *(f"overlays/{o}" for o in OVERLAYS)])
    def test_no_secret_object_and_no_literal_secret(self, tree: str) -> None:
        docs = rendered(tree)
        assert [d for d in docs if d["kind"] == "Secret"] == []
        for doc in docs:
            for text in walk_strings(doc):
                assert not SECRET_VALUE.search(text), f"{doc['kind']}/{doc['metadata']['name']}"
            if doc["kind"] == "ConfigMap":
                leaked = [k for k in doc.get("data", {}) if SECRET_NAME.search(k)]
                assert not leaked, f"secret-like settings in {doc['metadata']['name']}: {leaked}"

    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_secret_like_env_comes_from_a_secret(self, overlay: str) -> None:
        for name, dep in objects(overlay, "Deployment").items():
            pod = dep["spec"]["template"]["spec"]
            for container in [*pod["containers"], *pod.get("initContainers", [])]:
                for entry in container.get("env", []):
                    if SECRET_NAME.search(entry["name"]):
                        ref = entry.get("valueFrom", {}).get("secretKeyRef", {})
                        assert "value" not in entry, f"{name}: {entry['name']} has a value"
                        # The broker password is the one Strimzi made for the KafkaUser.
                        kafka = entry["name"] == f"{prefix(name)}KAFKA_SASL_PASSWORD"
                        assert ref.get("name") == (name if kafka else f"{name}-secrets"), entry

    def test_every_secret_key_is_documented(self) -> None:
        readme = (REPO / "README.md").read_text()
        keys = {
            (entry["valueFrom"]["secretKeyRef"]["name"], entry["valueFrom"]["secretKeyRef"]["key"])
            for dep in objects("prod", "Deployment").values()
            for container in dep["spec"]["template"]["spec"]["containers"]
            for entry in container.get("env", [])
            if "secretKeyRef" in entry.get("valueFrom", {})
        }
        missing = [f"{n}/{k}" for n, k in sorted(keys) if f"`{k}`" not in readme or n not in readme]
        assert not missing, f"not in the README's Deployment section: {missing}"


@pytest.mark.parametrize("service", SERVICES)
class TestDockerfiles:
    """One Dockerfile per service: multi-stage from the lock file, non-root, health-checked."""

    def test_dockerfile(self, service: str) -> None:
        text = (REPO / "services" / service / "Dockerfile").read_text()
        assert len(re.findall(r"^FROM ", text, re.M)) >= 3  # uv, builder, runtime
        assert f"uv sync --frozen --no-dev --no-editable --package {service}-service" in text
        assert re.search(r"^USER 10001", text, re.M)
        assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
        assert f'"{service}_service.main:create_app", "--factory"' in text
        assert "--timeout-graceful-shutdown" in text
        runtime = text.split(" AS runtime", 1)[1]
        assert "uv " not in runtime.replace("/app/.venv", ""), "uv in the runtime image"


class TestCompose:
    """deploy/compose.yaml parses and names what exists."""

    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())

    def test_every_service_is_built_migrated_and_configured(self) -> None:
        services = self.compose["services"]
        for service in SERVICES:
            migrate = services[f"{service}-migrate"]
            dockerfile = REPO / migrate["build"]["dockerfile"]
            assert dockerfile == REPO / "services" / service / "Dockerfile"
            assert migrate["command"][:4] == ["python", "-m", "shared_kit.migrations",
                                              f"{service}_service"]  # fmt: skip
            app = services[service]
            assert app["image"] == migrate["image"]
            assert app["depends_on"][f"{service}-migrate"]["condition"] == (
                "service_completed_successfully"
            )
            env, p = app["environment"], prefix(service)
            if service not in BROKERLESS:
                assert env[f"{p}KAFKA_ENABLE_IDEMPOTENCE"] == "true"
                assert env[f"{p}KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
            fields = settings_class(service).model_fields
            assert [k for k in env if k.removeprefix(p).lower() not in fields] == []

    def test_infrastructure_and_topics(self) -> None:
        services = self.compose["services"]
        assert services["postgres"]["image"].startswith("postgres:18")
        assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
        created = services["kafka-topics"]["command"][0]
        for topic in (t["spec"]["topicName"] for t in objects("prod", "KafkaTopic").values()):
            assert topic in created

    def test_standins_and_console_exist(self) -> None:
        services = self.compose["services"]
        for name in ("viis", "eklase", "mykoob", "latvija", "console", "mail", "sms"):
            command = services[name]["command"]
            module = command[command.index("--app-dir") + 2].split(":")[0]
            assert (REPO / "deploy" / "dev" / f"{module}.py").exists(), module


class TestSettingsTable:
    """Every setting of every service is a row of the README's Settings table."""

    @pytest.mark.parametrize("service", SERVICES)
    def test_documented(self, service: str) -> None:
        readme = (REPO / "README.md").read_text()
        table = readme[readme.index("## Settings") :]
        table = table[: table.index("\n## ")]
        missing = []
        for name in settings_class(service).model_fields:
            parts = name.upper().split("_")
            # `EKLASE_AUTHORIZE_URL`, `_TOKEN_URL` abbreviates EKLASE_TOKEN_URL in a row.
            spelled = [f"`{'_'.join(parts[i:])}`" if i == 0 else f"`_{'_'.join(parts[i:])}`"
                       for i in range(max(1, len(parts) - 1))]  # fmt: skip
            if not any(s in table for s in spelled):
                missing.append(name.upper())
        assert not missing, f"{service}: settings missing from the README table: {missing}"
