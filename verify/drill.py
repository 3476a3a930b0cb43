"""`python -m verify --drill failover`: proves that traffic fails over and comes back, cluster by cluster.

For each cluster with the samples: scale its `helloworld-<version>` to zero, wait until requests
from its `sleep` pod all succeed and are answered by other clusters only, scale it back to the
replicas it had, and wait until it answers its own callers again. The replicas are restored
whatever happens: on a failed check, an API error, Ctrl-C or SIGTERM (a second signal during the
restore is held until the restore is done, then honoured).

While one cluster is scaled down its callers' requests cross to other clusters (and regions):
the drill's cost is those requests' cross-region data and a few minutes per cluster.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from verify.checks import (
    NOT_DEPLOYED,
    SAMPLE_NAMESPACE,
    ClusterApi,
    ClusterTarget,
    Result,
    TimedOut,
    Unreachable,
    call_helloworld,
    local_share,
    parse_versions,
)


@dataclass(frozen=True)
class Pacing:
    """How long the drill waits for the mesh to converge, and how often it looks."""

    # Seconds each phase (scale-down seen, failover, back ready, back local) may take.
    deadline: float = 120.0
    poll: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def drill_failover(
    targets: list[ClusterTarget],
    connect: Callable[[ClusterTarget], ClusterApi],
    requests: int,
    timeout: int,
    progress: Callable[[str], None] = lambda _: None,
    pacing: Pacing | None = None,
) -> list[Result]:
    """The drill's rows of the table, two per cluster (`failover`, `restore`). Each phase may take
    `timeout` seconds unless `pacing` says otherwise."""
    pacing = pacing or Pacing(deadline=float(timeout))
    everyone = {t.name: t.sample_version for t in targets}
    results: list[Result] = []
    with _sigterm_as_interrupt():
        for index, target in enumerate(targets, 1):
            progress(f"[{index}/{len(targets)}] {target.name}: failover drill ...")
            try:
                cluster_results = _Drill(target, connect(target), everyone, requests, timeout, progress, pacing).run()
            except Unreachable as err:
                cluster_results = [Result(target.name, "failover", False, f"cannot reach {target.endpoint}: {err}")]
            except TimedOut as err:
                cluster_results = [Result(target.name, "failover", False, f"timed out: {err}")]
            for r in cluster_results:
                progress(f"    {'ok  ' if r.passed else 'FAIL'} {r.check}: {r.detail}")
            results.extend(cluster_results)
    return results


class _Drill:
    def __init__(self, target, api, everyone, requests, timeout, progress, pacing):
        self.target, self.api, self.requests, self.timeout = target, api, requests, timeout
        self.progress, self.pacing = progress, pacing
        self.expected = {c: v for c, v in everyone.items() if v}
        self.deployed = all(everyone.values())
        self.local = target.sample_version
        self.deployment = f"helloworld-{self.local}"

    def run(self) -> list[Result]:
        name = self.target.name
        if not self.deployed:
            return [Result(name, "failover", False, NOT_DEPLOYED)]
        if len(self.expected) < 2:
            return [Result(name, "failover", False, "no other cluster to fail over to")]
        status = self.api.deployment_status(SAMPLE_NAMESPACE, self.deployment)
        if status is None:
            return [Result(name, "failover", False, f"deployment {SAMPLE_NAMESPACE}/{self.deployment} not found")]
        # A cluster left at zero by an earlier, killed drill goes back to one replica.
        replicas = status[1] or 1
        self.progress(f"    scaling {self.deployment} to 0 (was {replicas})")
        try:
            failover = self._failover()
        finally:
            restored = self._scale_back(replicas)
        if not restored.passed:
            return [failover, restored]
        return [failover, self._back_local(replicas)]

    def _failover(self) -> Result:
        def failed_over(counts: Counter) -> str | None:
            return f"still answered by {self.target.name} ({self.local})" if counts.get(self.local) else None

        try:
            self.api.scale_deployment(SAMPLE_NAMESPACE, self.deployment, 0)
            self._wait_ready(lambda ready: ready == 0)
            return self._rounds("failover", failed_over, "all requests answered by other clusters")
        except (Unreachable, TimedOut) as err:
            return Result(self.target.name, "failover", False, f"API error during the drill: {err}")

    def _scale_back(self, replicas: int) -> Result:
        fix = f"`kubectl -n {SAMPLE_NAMESPACE} scale deployment/{self.deployment} --replicas={replicas}`"
        with _signals_held():
            try:
                found = self.api.scale_deployment(SAMPLE_NAMESPACE, self.deployment, replicas)
            except (Unreachable, TimedOut) as err:
                return Result(
                    self.target.name, "restore", False, f"could not scale {self.deployment} back ({err}); run {fix}"
                )
            if found:
                self.progress(f"    scaled {self.deployment} back to {replicas}")
        if not found:
            return Result(
                self.target.name,
                "restore",
                False,
                f"{self.deployment} disappeared while scaled down; run {fix} once it is back",
            )
        return Result(self.target.name, "restore", True, f"{self.deployment} back to {replicas}")

    def _back_local(self, replicas: int) -> Result:
        if not self._wait_ready(lambda ready: ready >= replicas):
            return Result(
                self.target.name,
                "restore",
                False,
                f"{self.deployment} not ready again within {self.pacing.deadline:.0f}s",
            )

        def local_again(counts: Counter) -> str | None:
            return (
                None
                if counts.get(self.local)
                else f"{self.target.name} ({self.local}) does not answer its own callers yet"
            )

        return self._rounds("restore", local_again, f"{self.deployment} back to {replicas}, answering locally again")

    def _wait_ready(self, done: Callable[[int], bool]) -> bool:
        deadline = self.pacing.clock() + self.pacing.deadline
        while True:
            status = self.api.deployment_status(SAMPLE_NAMESPACE, self.deployment)
            if status is not None and done(status[0]):
                return True
            if self.pacing.clock() >= deadline:
                return False
            self.pacing.sleep(self.pacing.poll)

    def _rounds(self, check: str, judge: Callable[[Counter], str | None], success: str) -> Result:
        """Rounds of requests until one passes `judge` with no failed request, or the deadline."""
        deadline = self.pacing.clock() + self.pacing.deadline
        round_ = 0
        while True:
            round_ += 1
            try:
                counts = parse_versions(call_helloworld(self.api, self.requests, self.timeout))
            except TimedOut:
                counts = Counter({"failed": self.requests})
            shown = ", ".join(f"{v}: {n}" for v, n in sorted(counts.items())) or "no answers"
            shown += f"; {local_share(self.target.name, counts, self.expected)}"
            problem = judge(counts) or (
                f"{counts['failed']} of {sum(counts.values())} requests failed" if counts.get("failed") else None
            )
            if problem is None:
                return Result(self.target.name, check, True, f"{success} ({shown}; round {round_})")
            if self.pacing.clock() >= deadline:
                return Result(
                    self.target.name,
                    check,
                    False,
                    f"{problem} after {self.pacing.deadline:.0f}s ({shown}; {round_} rounds)",
                )
            self.progress(f"    {check}: {problem}, retrying")
            self.pacing.sleep(self.pacing.poll)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI job cancelled, `kill`) unwinds like Ctrl-C, so the replicas are restored."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _signals_held() -> Iterator[None]:
    """A second Ctrl-C during the restore would leave the cluster scaled down: hold it till after."""
    caught: list[int] = []
    previous = {
        s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if caught:
            raise KeyboardInterrupt(f"signal {caught[0]} during the restore")
