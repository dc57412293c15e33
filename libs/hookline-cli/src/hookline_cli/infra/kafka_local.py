"""A single-node KRaft Kafka 4.x from `org.apache.kafka:kafka_2.13` jars fetched by Maven, on Java 17."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hookline.state_dir import cache_dir
from hookline_cli.infra.processes import Layout, port_open, read_pid, spawn, stop, wait_until

KAFKA_VERSION = os.environ.get("HOOKLINE_KAFKA_VERSION", "4.4.0")
# Kafka 4 logs through log4j2 but ships no SLF4J binding: without this jar the broker is silent.
LOG4J_SLF4J = "org.apache.logging.log4j:log4j-slf4j-impl:2.24.3"
NAME = "kafka"

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.hookline</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{version}</version></dependency>
    <dependency><groupId>{lg}</groupId><artifactId>{la}</artifactId><version>{lv}</version></dependency>
  </dependencies>
</project>
"""

LOG4J2 = """status = error
appender.file.type = Console
appender.file.name = STDOUT
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka.server.KafkaServer
logger.kafka.level = INFO
"""


def jars_dir(version: str = KAFKA_VERSION) -> Path:
    return cache_dir() / f"kafka-{version}" / "jars"


def ensure_jars(version: str = KAFKA_VERSION) -> Path:
    """Fetches the broker and its runtime dependencies once into the cache; later calls return at once."""
    target = jars_dir(version)
    marker = target / ".complete"
    if marker.is_file():
        return target
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven (mvn) is needed to fetch Kafka's jars from Maven Central; install it first")
    lg, la, lv = LOG4J_SLF4J.split(":")
    with tempfile.TemporaryDirectory() as work:
        pom = Path(work) / "pom.xml"
        pom.write_text(POM.format(version=version, lg=lg, la=la, lv=lv))
        staging = Path(work) / "jars"
        fetched = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
        )
        if fetched.returncode != 0:
            raise RuntimeError(
                f"mvn could not fetch Kafka {version}:\n{fetched.stdout[-4000:]}{fetched.stderr[-2000:]}"
            )
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), str(target))
    marker.write_text(version + "\n")
    return target


@dataclass(frozen=True)
class KafkaLocal:
    layout: Layout
    port: int = 9092
    controller_port: int = 9093
    version: str = KAFKA_VERSION
    heap: str = "768m"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def home(self) -> Path:
        return self.layout.data / "kafka"

    def _config(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        props = self.home / "server.properties"
        props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={self.home / 'logs'}",
                    "num.partitions=3",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=12",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    # One node: no point waiting for more members before the first rebalance.
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "log.cleaner.backoff.ms=5000",
                ]
            )
            + "\n"
        )
        (self.home / "log4j2.properties").write_text(LOG4J2)
        return props

    def _java(self, jars: Path, *args: str) -> list[str]:
        return [
            "java",
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp",
            f"{jars}/*",
            *args,
        ]

    def running(self) -> bool:
        return read_pid(self.layout.pid_file(NAME)) is not None and port_open("127.0.0.1", self.port)

    def up(self, timeout: float = 90.0) -> str:
        """Starts the broker unless it already runs; returns the bootstrap address once it listens."""
        if self.running():
            return self.bootstrap
        if port_open("127.0.0.1", self.port):
            raise RuntimeError(f"port {self.port} is taken by a process Hookline did not start")
        jars = ensure_jars(self.version)
        props = self._config()
        if not (self.home / "logs" / "meta.properties").is_file():
            cluster_id = subprocess.run(
                self._java(jars, "kafka.tools.StorageTool", "random-uuid"),
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            subprocess.run(
                self._java(
                    jars, "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id, "-c", str(props)
                ),
                check=True,
                capture_output=True,
                text=True,
            )
        spawn(NAME, self._java(jars, "kafka.Kafka", str(props)), self.layout)
        wait_until(lambda: port_open("127.0.0.1", self.port), timeout, f"Kafka on {self.bootstrap}")
        return self.bootstrap

    def down(self) -> bool:
        return stop(NAME, self.layout, timeout=30.0)

    def wipe(self) -> None:
        self.down()
        shutil.rmtree(self.home, ignore_errors=True)
