"""The Spark session of `engine: spark` datasets: built once per run, stopped at its end.

pyspark is imported only here and only when a Spark dataset is checked. Before a local session
is built, Java is checked (Spark 4 needs Java 17 or newer) so that a missing or old JVM is one
clear line, not a py4j traceback; before a Spark Connect session, the server's port is tried so
that an unreachable server is named at once instead of after gRPC's retries. A local session's
driver JVM starts quiet (`start_quiet_jvm`): no log4j lines on stderr, only mlci's own.

pandas 3: pandera's PySpark backend imports `pyspark.pandas` for its type unions, and
`pyspark.pandas` (4.x) does not import under pandas 3. mlci validates `pyspark.sql` DataFrames
only, so when that import fails mlci registers a stand-in `pyspark.pandas` whose frame classes
nothing is an instance of (`_stand_in_pyspark_pandas`); with pandas < 3 the real module is used.
docs/data-validation.md ("Spark and pandas 3") says why.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import types
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from mlci.errors import MlciError
from mlci.extras import require

JAVA_NEEDED = 17
"""Spark 4 runs on Java 17 or newer."""
CONNECT_DEFAULT_PORT = 15002
_DEFAULT_MASTER = "local[*]"
# Small defaults that suit one machine; anything in `spark.conf` (or spark-defaults.conf) wins.
_LOCAL_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}


@dataclass(frozen=True)
class SparkSettings:
    """Where the session runs: a Spark Connect server, or a master for a session in-process."""

    remote: str | None = None
    master: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, section: Any, environ: Mapping[str, str] | None = None) -> SparkSettings:
        """mlci.yaml's `spark:` section; SPARK_REMOTE when the section names no server."""
        environ = os.environ if environ is None else environ
        remote = getattr(section, "remote", None)
        master = getattr(section, "master", None)
        if remote is None and master is None and environ.get("SPARK_REMOTE"):
            remote = environ["SPARK_REMOTE"]
        return cls(remote=remote, master=master, conf=dict(getattr(section, "conf", {}) or {}))

    def label(self) -> str:
        return self.remote or self.master or _DEFAULT_MASTER


class SparkSessions:
    """The one session of a run. A session that is already active in the process (a notebook,
    a test's shared session) is used as it is and left running."""

    def __init__(self) -> None:
        self._session: Any = None
        self._owned = False
        self._settings: SparkSettings | None = None

    def get(self, settings: SparkSettings) -> Any:
        if self._session is not None:
            return self._session
        pyspark_sql = import_pyspark()
        if settings.remote is None:
            active = pyspark_sql.SparkSession.getActiveSession()
            if active is not None:
                self._session = active
                return active
            check_java()
            builder = pyspark_sql.SparkSession.builder.master(settings.master or _DEFAULT_MASTER)
            conf = {**_LOCAL_DEFAULTS, **settings.conf}
        else:
            check_connect_server(settings.remote)
            builder = pyspark_sql.SparkSession.builder.remote(settings.remote)
            conf = dict(settings.conf)
        builder = builder.appName("mlci")
        for key, value in conf.items():
            builder = builder.config(key, value)
        try:
            with _quiet_pyspark():
                if settings.remote is None:
                    start_quiet_jvm(settings.master or _DEFAULT_MASTER, conf)
                session = builder.getOrCreate()
        except Exception as exc:
            raise MlciError(
                f"cannot start a Spark session on {settings.label()}: {_first_line(exc)}",
                hint="check the `spark:` section of mlci.yaml (or SPARK_REMOTE)",
            ) from None
        self._session, self._owned, self._settings = session, True, settings
        return session

    def stop(self) -> None:
        """Stop the session if this run built it."""
        session, owned = self._session, self._owned
        self._session, self._owned = None, False
        if session is not None and owned:
            with contextlib.suppress(Exception):  # a server gone away: nothing left to stop
                session.stop()


SESSIONS = SparkSessions()


def spark_session(settings: SparkSettings) -> Any:
    return SESSIONS.get(settings)


def stop_spark_session() -> None:
    SESSIONS.stop()


def is_connect(session: Any) -> bool:
    return type(session).__module__.startswith("pyspark.sql.connect")


# --- imports ----------------------------------------------------------------------------------


def import_pyspark() -> Any:
    """`pyspark.sql`, or MissingExtraError naming `mlci[spark]`."""
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    with _quiet_pyspark():
        require("pyspark", "spark", feature="the Spark engine needs pyspark")
        return require("pyspark.sql", "spark", feature="the Spark engine needs pyspark")


def import_pandera_pyspark() -> Any:
    """`pandera.pyspark`, importable next to pandas 3 (see the module's docstring)."""
    import_pyspark()
    with _quiet_pyspark():
        if "pyspark.pandas" not in sys.modules:
            try:
                import pyspark.pandas  # noqa: F401
            except ImportError:
                _stand_in_pyspark_pandas()
        return require("pandera.pyspark", "spark", feature="the Spark engine needs pandera")


def _stand_in_pyspark_pandas() -> None:
    """A `pyspark.pandas` with only what pandera's `pyspark.sql` backend names: frame classes
    (no object is an instance of them) and accessor registration (a no-op)."""
    stand_in = types.ModuleType("pyspark.pandas")
    stand_in.__doc__ = "mlci's stand-in: pyspark.pandas does not import with this pandas"
    stand_in.__path__ = []
    for name in ("DataFrame", "Series", "Index", "MultiIndex"):
        setattr(stand_in, name, type(name, (), {"__module__": "pyspark.pandas"}))
    extensions = types.ModuleType("pyspark.pandas.extensions")
    for name in ("dataframe", "series", "index"):
        setattr(extensions, f"register_{name}_accessor", _no_accessor)
    sys.modules["pyspark.pandas"] = stand_in
    sys.modules["pyspark.pandas.extensions"] = extensions


def _no_accessor(name: str) -> Any:
    return lambda cls: cls


class _quiet_pyspark(warnings.catch_warnings):
    """pyspark warns at import that it prefers pandas < 3 (the stand-in covers what mlci uses)."""

    def __enter__(self) -> None:
        super().__enter__()
        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas")
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")


# --- a quiet driver JVM -----------------------------------------------------------------------

QUIET_LOG4J2 = Path(__file__).with_name("spark_log4j2.properties")
"""mlci's log4j2 configuration of a driver JVM it starts: nothing logged (errors reach mlci as
exceptions and become its own one-line messages)."""
_LOG4J2_ENV = "LOG4J_CONFIGURATION_FILE"
_LOG4J2_CLASSPATH_NAMES = ("log4j2-test", "log4j2")
_LOG4J2_SUFFIXES = (".properties", ".yaml", ".yml", ".json", ".jsn", ".xml")
_JVM_BOOT_NOTICE = "WARNING: Using incubator modules:"
"""What the JVM itself prints at boot (not log4j, no switch turns it off) because Spark's
launcher always adds `--add-modules=jdk.incubator.vector`."""


def start_quiet_jvm(master: str, conf: Mapping[str, str]) -> None:
    """Start the driver JVM of a local session (pyspark's `launch_gateway`) quietly, and make it
    the SparkContext that `builder.getOrCreate()` then picks up.

    Quiet: log4j2 reads mlci's QUIET_LOG4J2 through LOG4J_CONFIGURATION_FILE in the JVM's
    environment, which any configuration of the user's own outranks (a `-Dlog4j2.configurationFile`
    system property in `spark.driver.extraJavaOptions`, spark-defaults.conf or
    PYSPARK_SUBMIT_ARGS; LOG4J_CONFIGURATION_FILE already set); a log4j2 file in Spark's conf
    directory is the user's too, and then mlci sets nothing. No Spark option is touched, so no
    `extraJavaOptions` of the user's is replaced. The JVM's stderr comes through a filter that
    drops only its boot notice about incubator modules.

    Nothing happens when this process already has a JVM (a session stopped earlier, or
    PYSPARK_GATEWAY_PORT): its logging was set when it started."""
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._gateway is not None or os.environ.get("PYSPARK_GATEWAY_PORT"):
        return
    spark_conf = SparkConf().setMaster(master).setAppName("mlci")
    for key, value in conf.items():
        spark_conf.set(key, value)
    environ = os.environ
    quiet = _LOG4J2_ENV not in environ and not user_log4j2_file(environ)
    if quiet:
        environ[_LOG4J2_ENV] = str(QUIET_LOG4J2)
    try:
        gateway = launch_gateway(  # type: ignore[no-untyped-call]
            spark_conf, popen_kwargs={"stderr": subprocess.PIPE}
        )
    finally:
        if quiet:
            environ.pop(_LOG4J2_ENV, None)
    if gateway.proc is not None and gateway.proc.stderr is not None:
        threading.Thread(
            target=_forward_jvm_stderr,
            args=(gateway.proc.stderr, sys.stderr),
            name="mlci-jvm-stderr",
            daemon=True,
        ).start()
    SparkContext(conf=spark_conf, gateway=gateway)


def user_log4j2_file(environ: Mapping[str, str]) -> Path | None:
    """A log4j2 configuration in Spark's conf directory (SPARK_CONF_DIR, else SPARK_HOME/conf),
    which log4j2 would find on the driver's classpath."""
    conf_dir = environ.get("SPARK_CONF_DIR")
    if not conf_dir:
        home = environ.get("SPARK_HOME")
        if not home:
            from pyspark.find_spark_home import _find_spark_home

            home = _find_spark_home()
        conf_dir = str(Path(home) / "conf")
    for name in _LOG4J2_CLASSPATH_NAMES:
        for suffix in _LOG4J2_SUFFIXES:
            candidate = Path(conf_dir) / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _forward_jvm_stderr(stream: IO[bytes], sink: IO[str]) -> None:
    """Copy the JVM's stderr to ours but for its incubator-module notice; keep draining after
    `sink` fails, so that the JVM never blocks on a full pipe."""
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        if line.startswith(_JVM_BOOT_NOTICE):
            continue
        try:
            sink.write(line)
            sink.flush()
        except (OSError, ValueError):
            continue


# --- preflight --------------------------------------------------------------------------------


def find_java(environ: Mapping[str, str] | None = None) -> Path | None:
    environ = os.environ if environ is None else environ
    home = environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.exists():
            return candidate
    found = shutil.which("java", path=environ.get("PATH"))
    return Path(found) if found else None


def java_version(java: Path) -> int | None:
    """The major version `java -version` reports (8 for `1.8.0_392`, 17 for `17.0.15`)."""
    try:
        done = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


SETUP_JAVA = "actions/setup-java@c5195efecf7bdfc987ee8bae7a71cb8b11521c00"
"""v4.7.1, pinned like the other actions of mlci's workflows (which install Java with it when
their `java-version` input is set)."""
SETUP_JAVA_VERSION = "v4.7.1"


def java_install_hint(on_github: bool) -> str:
    """How to get Java: on GitHub Actions the step to add (or the reusable workflows' input;
    setup-java sets JAVA_HOME and PATH), elsewhere the package."""
    if on_github:
        return (
            f"on GitHub Actions add a step before mlci: `uses: {SETUP_JAVA}` "
            f"({SETUP_JAVA_VERSION}) with `distribution: temurin` and `java-version: "
            f"'{JAVA_NEEDED}'`; with mlci's reusable workflows set their input `java-version: "
            f"'{JAVA_NEEDED}'` (docs/github-action.md, \"Java for the Spark engine\")"
        )
    return "install Java 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jre-headless)"


def check_java(environ: Mapping[str, str] | None = None) -> None:
    """MlciError (exit 2) unless a Java of at least JAVA_NEEDED is there for a local session."""
    environ = os.environ if environ is None else environ
    java = find_java(environ)
    on_github = environ.get("GITHUB_ACTIONS") == "true"
    install = java_install_hint(on_github)
    if java is None:
        raise MlciError(
            f"the Spark engine needs Java {JAVA_NEEDED} or newer and no `java` was found "
            "(JAVA_HOME is not set and `java` is not on PATH)",
            hint=f"{install}, or set `spark.remote` to a Spark Connect server",
        )
    version = java_version(java)
    if version is None:
        raise MlciError(
            f"the Spark engine needs Java {JAVA_NEEDED} or newer; `{java} -version` did not say "
            "which version it is",
            hint=install,
        )
    if version < JAVA_NEEDED:
        raise MlciError(
            f"the Spark engine needs Java {JAVA_NEEDED} or newer; found Java {version} ({java})",
            hint=install if on_github else f"{install}, and point JAVA_HOME at it",
        )


def check_connect_server(url: str, timeout: float = 5.0) -> None:
    """MlciError (exit 2) naming `url` when nothing listens at its host and port."""
    parsed = urlparse(url.split(";", 1)[0])
    host = parsed.hostname
    if parsed.scheme != "sc" or not host:
        raise MlciError(f"{url!r} is not a Spark Connect URL", hint="write it as sc://host:15002")
    port = parsed.port or CONNECT_DEFAULT_PORT
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise MlciError(
            f"cannot reach the Spark Connect server at {url} ({host}:{port}): {reason}",
            hint="start it (sbin/start-connect-server.sh) or fix `spark.remote` / SPARK_REMOTE",
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
