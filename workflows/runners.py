"""Where a flow's tasks run: Prefect's threads in the flow's own process, or a Dask cluster.

The flows do not change with the engine: ``cascade_flow.with_options(task_runner=task_runner("dask", 2))``,
or the environment of the process that starts the flow:

- ``SARABAN_TASK_RUNNER``: ``threads`` (default: a pool of threads in the flow's process) or ``dask``;
- ``SARABAN_TASK_WORKERS``: how many threads, or Dask worker processes of a LocalCluster (default: the cores;
  threads at most 8: the work is mostly Python, which one process runs on one core at a time);
- ``SARABAN_DASK_ADDRESS``: a running ``dask.distributed`` scheduler (``tcp://10.0.0.5:8786``) instead of a
  LocalCluster started for the run. Its workers need saraban installed, LibreOffice and the fonts, the same
  ``SARABAN_DATABASE_URL``, ``SARABAN_FILES`` and ``SARABAN_SECRET``, and ``PREFECT_API_URL`` naming the
  Prefect server the flow reports to (README: several machines).

A LocalCluster's workers are processes of one thread each, started with the environment (``SARABAN_*``)
of the process that starts the flow, and that flow's Prefect API (even the local ephemeral one); each
converts with one LibreOffice at a time unless ``SARABAN_PDF_WORKERS`` says otherwise (a worker per core), and
runs below the flow's own process in priority (the flow records what the workers' tasks make). A script
that starts one must guard its work with ``if __name__ == "__main__":`` (the workers are spawned and
import the script again).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Literal

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from saraban.kernel.settings import SettingsError

RunnerKind = Literal["threads", "dask"]
KINDS: tuple[RunnerKind, ...] = ("threads", "dask")
MAX_THREADS = 8
# A LocalCluster's own diagnostics, slowed down: by default its processes sample their threads' stacks every
# 10 ms (profiler), time their event loops every 20 ms and read the system's figures twice a second, ~3-5 % of
# a core each while the workers wait on LibreOffice; taken from the conversions that have the cores.
QUIET_DASK = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
              "distributed.admin.tick.limit": "30s", "distributed.admin.system-monitor.interval": "5s",
              "distributed.worker.memory.monitor-interval": "1s"}


def _workers(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"SARABAN_TASK_WORKERS ต้องเป็นจำนวนเต็มตั้งแต่ 1 / SARABAN_TASK_WORKERS must be a whole "
                            f"number from 1, not {value!r}")
    return int(value)


def task_runner(kind: str = "threads", workers: int | None = None, address: str | None = None) -> TaskRunner:
    """A task runner of ``kind`` (``threads`` or ``dask``) with ``workers`` threads or Dask processes (default:
    the cores), or a Dask runner connected to the scheduler at ``address`` (its workers are its own)."""
    if kind not in KINDS:
        raise SettingsError(f"SARABAN_TASK_RUNNER ต้องเป็น threads หรือ dask / SARABAN_TASK_RUNNER must be threads or "
                            f"dask, not {kind!r}")
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers or min(os.cpu_count() or 1, MAX_THREADS))
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return _local_dask_runner()(cluster_class="distributed.LocalCluster", cluster_kwargs=_cluster_kwargs(workers))


def _cluster_kwargs(workers: int | None) -> dict:
    return {"n_workers": workers or os.cpu_count() or 1, "threads_per_worker": 1, "processes": True,
            "dashboard_address": None}  # no web dashboard: no port to collide with another run's


def _worker_environment() -> dict[str, str]:
    """What a LocalCluster's workers are started with besides this process's environment: the Prefect API of the
    flows (without PREFECT_API_URL, the local ephemeral server, saraban's default, each worker process would
    start a temporary Prefect server of its own: seconds each, on the same Prefect database, and task runs that
    nobody sees) and one LibreOffice at a time (unless told otherwise): n workers run n LibreOffices, not n
    times the cores."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:  # the flows' server (an ephemeral one is shared)
        api = str(client.api_url).rstrip("/")
    return {"PREFECT_API_URL": api, "SARABAN_PDF_WORKERS": os.environ.get("SARABAN_PDF_WORKERS") or "1"}


def local_cluster(workers: int | None = None):  # noqa: ANN201 (distributed.LocalCluster: imported on use)
    """A LocalCluster as ``task_runner("dask", workers)`` starts for one flow run, left running: flows given its
    ``scheduler_address`` (``task_runner("dask", address=...)``, or SARABAN_DASK_ADDRESS) run on its workers
    without starting their own; close it when done. Started in this process's Prefect context (its API is the
    workers')."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(QUIET_DASK):  # read when the scheduler and the workers start
        cluster = LocalCluster(**_cluster_kwargs(workers), env=_worker_environment())
    with Client(cluster) as client:
        client.run(_below_the_flow)
    return cluster


WORKER_NICENESS = 10


def _below_the_flow() -> None:
    """Run in each worker of a LocalCluster: its threads (and those it starts later) yield the cores to the
    flow's own process, which records the hops that the workers' tasks wait for (workflows.cascade: the
    cascade's critical path), and to a clerk's ลงรับ on the same machine. Idle cores are the workers' all the
    same."""
    for thread in os.listdir("/proc/self/task"):
        os.setpriority(os.PRIO_PROCESS, int(thread), WORKER_NICENESS)


@cache  # one class: imported on first use (importing Dask costs a second), never before
def _local_dask_runner() -> type[TaskRunner]:
    from prefect_dask import DaskTaskRunner

    class LocalDaskTaskRunner(DaskTaskRunner):
        """A LocalCluster whose workers report to the flow's own Prefect API (:func:`_worker_environment`)."""

        def __enter__(self) -> LocalDaskTaskRunner:
            self.cluster_kwargs = {**self.cluster_kwargs, "env": {
                **self.cluster_kwargs.get("env", {}), **_worker_environment()}}
            import dask

            with dask.config.set(QUIET_DASK):  # read when the scheduler and the workers start
                entered = super().__enter__()
            self.client.run(_below_the_flow)
            return entered

    return LocalDaskTaskRunner


def runner_from_environment() -> TaskRunner:
    """The task runner ``SARABAN_TASK_RUNNER``, ``SARABAN_TASK_WORKERS`` and ``SARABAN_DASK_ADDRESS`` name."""
    address = os.environ.get("SARABAN_DASK_ADDRESS") or None
    kind = os.environ.get("SARABAN_TASK_RUNNER") or ("dask" if address else "threads")
    return task_runner(kind, _workers(os.environ.get("SARABAN_TASK_WORKERS")), address)


def in_process(runner: TaskRunner | None) -> bool:
    """Whether tasks run inside the flow's own process (threads): no other process signs links."""
    return runner is None or isinstance(runner, ThreadPoolTaskRunner)


def parallelism(runner: TaskRunner | None) -> int:
    """How many tasks the runner runs at once: its threads, or the Dask cluster's worker threads."""
    if isinstance(runner, ThreadPoolTaskRunner):
        return max(1, min(runner._max_workers, os.cpu_count() or 1))  # noqa: SLF001 (no public accessor)
    client = getattr(runner, "client", None)
    if client is not None:  # prefect-dask: ask the scheduler (a remote cluster has its own size)
        return max(1, sum(client.nthreads().values()))
    return os.cpu_count() or 1


def chunk_size(count: int, workers: int, most: int = 200) -> int:
    """Letters per task: two tasks a worker (more when a task would have more than ``most``, what one
    LibreOffice run converts), so that the last ones finish together; each task starts LibreOffice once
    (~1.5 s), so fewer, larger tasks are cheaper."""
    tasks = 2 * workers
    while -(-count // tasks) > most:
        tasks += workers
    return max(1, -(-count // tasks))


def pipeline_groups(weights: dict[str, int], groups: int) -> list[list[str]]:
    """The keys of ``weights``, in their given order, cut into about ``groups`` groups for a pipeline (each group's
    records, then its files beside the next group's records): the first a quarter of the others and the last two
    a half and a quarter, so that the workers start soon and finish together; each group's share is of the total
    weight (at least one key a group, never empty).

    >>> pipeline_groups({k: 1 for k in "abcdefghijklmnop"}, 6)
    [['a'], ['b', 'c', 'd', 'e'], ['f', 'g', 'h', 'i'], ['j', 'k', 'l', 'm'], ['n', 'o'], ['p']]
    """
    keys = list(weights)
    if not keys:
        return []
    count = max(1, min(groups, len(keys)))
    shares = [1.0] * count
    for at, share in ((0, 0.25), (-2, 0.5), (-1, 0.25)):  # the first; the last two
        if count >= 4:
            shares[at] = share
    total, whole = sum(weights.values()) or 1, sum(shares)
    cuts, reached = [], 0.0
    for share in shares[:-1]:
        reached += share / whole
        cuts.append(reached * total)
    result: list[list[str]] = [[]]
    done = 0
    for key in keys:
        if len(result) <= len(cuts) and result[-1] and done + weights[key] / 2 > cuts[len(result) - 1]:
            result.append([])
        result[-1].append(key)
        done += weights[key]
    return result
