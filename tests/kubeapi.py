"""A real Kubernetes API server for the tests: etcd + kube-apiserver (+ kube-controller-manager).

The binaries are the pinned builds `make tools` puts in .tools/bin (see .ci/tools/install). A
`Cluster` starts them on 127.0.0.1 with free ports, a fresh data directory, self-signed serving
certificates (the API server makes them in its --cert-dir), a service-account key pair and a
static admin token, installs the upstream CRDs from ../shared/crds, and stops exactly the
processes it started (each in its own process group). The admission-policy status controller,
which type-checks every policy created (seconds of CPU each), runs only inside
`policy_type_checking()`. `Client` talks to it over one kept-alive HTTPS connection (no kubectl per
request: the differential tests send thousands; `request_pool` sends them a few at a time) and
returns the status, the decoded body and the `Warning` headers of every response.

Every create here is a server-side dry run with strict field validation unless told otherwise:
the server admits, defaults and validates the object exactly as for a real apply, runs the
admission policies, and stores nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, TypeVar

import yaml

from yamldocs import documents

K8S_VERSION = "v1.36.3"
ETCD_VERSION = "3.6.8"
TOKEN = "mlgitops-test-token"
# The CRD files of ../shared/crds installed into every test cluster (SOURCE.md lists their origin).
CRD_FILES = (
    "serving.kserve.io_inferenceservices.yaml", "serving.kserve.io_servingruntimes.yaml",
    "serving.kserve.io_clusterservingruntimes.yaml",
    "argoproj.io_rollouts.yaml", "argoproj.io_analysistemplates.yaml", "argoproj.io_analysisruns.yaml",
    "argoproj.io_clusteranalysistemplates.yaml", "argoproj.io_applications.yaml",
    "argoproj.io_applicationsets.yaml",
    "monitoring.coreos.com_prometheusrules.yaml", "monitoring.coreos.com_servicemonitors.yaml",
    "monitoring.coreos.com_podmonitors.yaml", "istio-crd-all.gen.yaml",
    "gateway.networking.k8s.io_httproutes.yaml", "gateway.networking.k8s.io_gateways.yaml",
    "gateway.networking.k8s.io_referencegrants.yaml",
    "external-secrets.io_externalsecrets.yaml", "external-secrets.io_secretstores.yaml",
    "external-secrets.io_clustersecretstores.yaml",
)
# kube-controller-manager's controllers: those that fill every new namespace (its `default`
# ServiceAccount and `kube-root-ca.crt`) run all along; the admission-policy status controller
# (status.typeChecking) only where a test reads it (Cluster.policy_type_checking).
NAMESPACE_CONTROLLERS = ("serviceaccount-controller", "root-ca-certificate-publisher-controller")
TYPE_CHECKING_CONTROLLER = "validatingadmissionpolicy-status-controller"
# Argo CD's AppProject CRD is not in ../shared/crds: `make tools` downloads it from the Argo CD
# module on the Go module proxy into .tools/crds (.ci/tools/install).
TOOLS_CRD_FILES = ("argoproj.io_appprojects.yaml",)


@dataclasses.dataclass
class Response:
    status: int
    body: Any  # decoded JSON (a dict for Kubernetes objects and Status), or the raw text
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        """The Status message of a failed request."""
        if isinstance(self.body, dict):
            return str(self.body.get("message", ""))
        return str(self.body)


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: every socket stays bound until all are chosen (one at a time,
    the kernel may hand the same port out twice)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sockets.append(sock)
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _warning_text(header: str) -> str:
    """`299 - "text"` (RFC 7234 warn-code, agent, quoted text) -> text."""
    parts = header.split(" ", 2)
    text = parts[2] if len(parts) == 3 else header
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


class Client:
    """Requests to one API server over a kept-alive TLS connection (server certificate not verified:
    it is the self-signed one the test server just made)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self._context = ssl.create_default_context()
        self._context.check_hostname = False
        self._context.verify_mode = ssl.CERT_NONE
        self._conn: http.client.HTTPSConnection | None = None
        self._resources: dict[tuple[str, str], dict[str, tuple[str, bool]]] = {}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: Any = None, query: dict | None = None,
                content_type: str = "application/json") -> Response:
        if query:
            path += "?" + urllib.parse.urlencode(query)
        data = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPSConnection(self.host, self.port, context=self._context, timeout=60)
            try:
                self._conn.request(method, path, body=data, headers=headers)
                raw = self._conn.getresponse()
                payload = raw.read()
                break
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        text = payload.decode("utf-8", "replace")
        try:
            decoded: Any = json.loads(text) if text else None
        except ValueError:
            decoded = text
        warnings = [_warning_text(v) for k, v in raw.getheaders() if k.lower() == "warning"]
        return Response(raw.status, decoded, warnings)

    # --- discovery -------------------------------------------------------------------------
    def resources(self, api_version: str) -> dict[str, tuple[str, bool]]:
        """kind -> (plural resource, namespaced) of one group/version, from discovery."""
        group, _, version = api_version.rpartition("/")
        key = (group, version)
        if key not in self._resources:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            response = self.request("GET", path)
            found: dict[str, tuple[str, bool]] = {}
            if response.ok:
                for item in response.body.get("resources", []):
                    if "/" not in item["name"]:
                        found[item["kind"]] = (item["name"], bool(item["namespaced"]))
            self._resources[key] = found
        return self._resources[key]

    def forget_discovery(self) -> None:
        self._resources.clear()

    def collection(self, obj: dict, namespace: str | None = None) -> str:
        """The collection URL path an object is created in."""
        api_version, kind = obj["apiVersion"], obj["kind"]
        known = self.resources(api_version)
        if kind not in known:
            raise KeyError(f"the server serves no {kind} in {api_version}")
        plural, namespaced = known[kind]
        group, _, version = api_version.rpartition("/")
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        if namespaced:
            ns = namespace or (obj.get("metadata") or {}).get("namespace") or "default"
            return f"{base}/namespaces/{ns}/{plural}"
        return f"{base}/{plural}"

    # --- objects ---------------------------------------------------------------------------
    def create(self, obj: dict, *, dry_run: bool = True, strict: bool = True, namespace: str | None = None
               ) -> Response:
        query = {"fieldValidation": "Strict" if strict else "Ignore"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("POST", self.collection(obj, namespace), obj, query)

    def apply(self, obj: dict, *, manager: str = "mlgitops-tests", dry_run: bool = False) -> Response:
        """Server-side apply (force), strict: how Argo CD's server-side sync would send it."""
        name = obj["metadata"]["name"]
        query = {"fieldManager": manager, "force": "true", "fieldValidation": "Strict"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("PATCH", f"{self.collection(obj)}/{name}", obj, query,
                            content_type="application/apply-patch+yaml")

    def replace(self, obj: dict, *, dry_run: bool = True, strict: bool = True) -> Response:
        """PUT: the object replaces the stored one (an UPDATE for admission); a dry run by default."""
        query = {"fieldValidation": "Strict" if strict else "Ignore"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("PUT", f"{self.collection(obj)}/{obj['metadata']['name']}", obj, query)

    def delete(self, obj: dict) -> Response:
        name = obj["metadata"]["name"]
        return self.request("DELETE", f"{self.collection(obj)}/{name}")

    def get(self, obj: dict) -> Response:
        return self.request("GET", f"{self.collection(obj)}/{obj['metadata']['name']}")

    def ensure(self, obj: dict) -> None:
        """Create or update `obj` for real (server-side apply); AssertionError when refused."""
        response = self.apply(obj)
        if not response.ok:
            raise AssertionError(f"{obj['kind']} {obj['metadata'].get('name')}: {response.status} {response.message}")

    def namespace(self, name: str, labels: dict | None = None) -> None:
        meta: dict = {"name": name}
        if labels:
            meta["labels"] = labels
        self.ensure({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})


T = TypeVar("T")
R = TypeVar("R")


@contextlib.contextmanager
def request_pool(client: Client, workers: int = 4) -> Iterator[Callable[[Callable[[Client, T], R], T], Future]]:
    """submit(send, item) runs send(connection, item) in one of `workers` threads, each with its own
    kept-alive connection to `client`'s server (a Client is one connection, not shared between
    threads); returns its Future. The differential tests send thousands of requests one after the
    other: in flight a few at a time, the client's Python and the server work at once instead of
    waiting on each other."""
    local = threading.local()
    opened: list[Client] = []
    lock = threading.Lock()

    def run(send: Callable[[Client, T], R], item: T) -> R:
        connection = getattr(local, "client", None)
        if connection is None:
            connection = local.client = Client(client.host, client.port, client.token)
            with lock:
                opened.append(connection)
        return send(connection, item)

    pool = ThreadPoolExecutor(workers)
    try:
        yield lambda send, item: pool.submit(run, send, item)
    except BaseException:
        pool.shutdown(cancel_futures=True)  # a failed test does not wait for requests nobody reads
        raise
    finally:
        pool.shutdown()
        for connection in opened:
            connection.close()


def _start(argv: list[str], log: pathlib.Path) -> subprocess.Popen:
    handle = log.open("wb")
    try:
        return subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    finally:
        handle.close()


class Cluster:
    """etcd + kube-apiserver (+ kube-controller-manager with the controllers that give each
    namespace its default ServiceAccount and kube-root-ca.crt; and, inside policy_type_checking(),
    the admission-policy status controller, which fills ValidatingAdmissionPolicy
    status.typeChecking) in a temp directory."""

    def __init__(self, binaries: dict[str, str], crd_dir: pathlib.Path | None, *,
                 tools_crd_dir: pathlib.Path | None = None, controller_manager: bool = True
                 ) -> None:
        self.binaries = binaries  # etcd, kube-apiserver, kube-controller-manager -> path
        self.crd_dir = crd_dir
        self.tools_crd_dir = tools_crd_dir
        self.with_kcm = controller_manager
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="mlgitops-apiserver-"))
        self.processes: list[subprocess.Popen] = []
        self.port = 0
        self.client: Client | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 120.0) -> Client:
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> Client:
        d = self.dir
        etcd_port, peer_port, self.port, kcm_port = free_ports(4)
        self.processes.append(_start([
            self.binaries["etcd"], "--data-dir", str(d / "etcd"), "--name", "test",
            "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"test=http://127.0.0.1:{peer_port}",
            "--log-level", "warn", "--unsafe-no-fsync", "--quota-backend-bytes", str(2 << 30),
        ], d / "etcd.log"))
        key, pub = d / "sa.key", d / "sa.pub"
        subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
        subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(pub)], check=True,
                       capture_output=True)
        (d / "tokens.csv").write_text(f'{TOKEN},admin,1,"system:masters"\n')
        self.processes.append(_start([
            self.binaries["kube-apiserver"], f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.port}",
            f"--cert-dir={d / 'certs'}", "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={pub}", f"--service-account-signing-key-file={key}",
            f"--token-auth-file={d / 'tokens.csv'}", "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.0.0.0/24", "--enable-priority-and-fairness=false",
            # as in any real cluster (kubelets run with it too): a privileged container is for the
            # admission policies to judge, not refused by the API server's own validation
            "--allow-privileged=true",
            "--profiling=false", "--v=0",
        ], d / "kube-apiserver.log"))
        client = Client("127.0.0.1", self.port, TOKEN)
        self.client = client
        self._wait(lambda: client.request("GET", "/readyz").status == 200, timeout, "kube-apiserver /readyz")
        if self.with_kcm:
            self.processes.append(self._controller_manager(NAMESPACE_CONTROLLERS, "kube-controller-manager", kcm_port))
        if self.crd_dir is not None:
            self.install_crds([*(self.crd_dir / name for name in CRD_FILES),
                               *(self.tools_crd_dir / name for name in TOOLS_CRD_FILES
                                 if self.tools_crd_dir is not None)])
        return client

    def _controller_manager(self, controllers: Iterable[str], name: str, port: int,
                            extra: Iterable[str] = ()) -> subprocess.Popen:
        """A kube-controller-manager running `controllers` (and `extra` flags), its log in `name`.log."""
        d = self.dir
        kubeconfig = self.write_kubeconfig()
        return _start([
            self.binaries["kube-controller-manager"], f"--kubeconfig={kubeconfig}",
            f"--controllers={','.join(controllers)}",
            f"--root-ca-file={d / 'certs' / 'apiserver.crt'}", "--leader-elect=false",
            "--bind-address=127.0.0.1", f"--secure-port={port}", f"--cert-dir={d / (name + '-certs')}",
            "--use-service-account-credentials=false", "--v=0", *extra,
        ], d / f"{name}.log")

    @contextlib.contextmanager
    def policy_type_checking(self):
        """While the block runs, a second kube-controller-manager runs the admission-policy status
        controller: every policy created is type-checked and gets status.typeChecking (the one it
        finds when it starts too). Outside, nothing pays for type checking policies nobody reads."""
        process = self._controller_manager((TYPE_CHECKING_CONTROLLER,), "kcm-type-checking", free_port())
        self.processes.append(process)
        try:
            yield
        finally:
            self._stop(process)
            if process in self.processes:  # not when the whole cluster stopped meanwhile
                self.processes.remove(process)

    def write_kubeconfig(self) -> pathlib.Path:
        path = self.dir / "kubeconfig"
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": f"https://127.0.0.1:{self.port}",
                                                      "insecure-skip-tls-verify": True}}],
            "users": [{"name": "admin", "user": {"token": TOKEN}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin"}}],
        }))
        return path

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited with {process.returncode} while waiting for "
                                       f"{what}; logs in {self.dir}")
            try:
                if ready():
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}; logs in {self.dir}")

    def install_crds(self, files: Iterable[pathlib.Path], timeout: float = 60.0, extra: Iterable[dict] = ()) -> None:
        """Apply the CRDs in `files` (and the `extra` CRD objects), then wait until all are established."""
        client = self.client
        assert client is not None
        names = []
        for doc in [*(doc for path in files for doc in documents(path)), *extra]:
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                response = client.apply(doc, manager="crd-install")
                if not response.ok:
                    raise RuntimeError(f"CRD {doc['metadata']['name']}: {response.message}")
                names.append(doc["metadata"]["name"])

        def established() -> bool:
            for name in names:
                got = client.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
                conditions = ((got.body or {}).get("status") or {}).get("conditions") or [] if got.ok else []
                if not any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                    return False
            return True

        self._wait(established, timeout, f"{len(names)} CRDs to be established")
        client.forget_discovery()

    def keep_param_informers(self, kinds: Iterable[tuple[str, str]] = (("v1", "ConfigMap"),)) -> None:
        """Install, for each (apiVersion, kind), an inert policy and binding that use it as paramKind.

        kube-apiserver (v1.36 included; kubernetes/kubernetes#130887, #133827) stops the informer of
        a built-in paramKind for good as soon as no binding uses that kind: from then on policies
        that read such parameters see a frozen cache (a ConfigMap created or changed afterwards is
        never found) until the server restarts. Tests install and remove policies one at a time,
        so without a binding that always uses the kind the second round would read stale
        parameters. The binding matches no object (an objectSelector on a label nothing carries)
        and only audits; its parameter object need not exist (parameterNotFoundAction Allow)."""
        client = self.client
        assert client is not None
        for api_version, kind in kinds:
            name = f"kubeapi-keep-{kind.lower()}-params"
            group, _, version = api_version.rpartition("/")
            for obj in (
                {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                 "metadata": {"name": name},
                 "spec": {"failurePolicy": "Ignore", "paramKind": {"apiVersion": api_version, "kind": kind},
                          "matchConstraints": {"resourceRules": [{
                              "apiGroups": [group], "apiVersions": [version], "operations": ["CREATE"],
                              "resources": ["*"]}]},
                          "validations": [{"expression": "true"}]}},
                {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
                 "metadata": {"name": name},
                 "spec": {"policyName": name, "validationActions": ["Audit"],
                          "paramRef": {"name": name, "namespace": "default", "parameterNotFoundAction": "Allow"},
                          "matchResources": {"objectSelector": {"matchLabels": {"kubeapi.test/never": "matched"}}}}},
            ):
                response = client.apply(obj, manager="kubeapi")
                if not response.ok:
                    raise RuntimeError(f"{obj['kind']} {name}: {response.message}")

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        for process in reversed(self.processes):
            self._stop(process)
        self.processes.clear()

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def cleanup(self) -> None:
        import shutil

        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self, name: str = "kube-apiserver") -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""
