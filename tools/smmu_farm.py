"""Runs smmu-sim processes as tasks on Dask distributed (Debian python3-distributed):
a LocalCluster on this machine (loopback only) by default, or the scheduler at
`--scheduler tcp://HOST:PORT`. Each task is one smmu-sim process; a task that
raises or whose worker is lost is retried (`retries`), and one that still
fails comes back as a result with its error, never dropped. Shared by
tools/smmu-sweep and tools/smmu-trace-regress.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

TAIL = 4000  # characters of a run's output kept in a result


def default_sim():
    """smmu-sim beside the tools when they are installed (PREFIX/bin), else the
    source tree's build/platforms/smmu-sim."""
    here = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(here, "smmu-sim")
    if os.access(installed, os.X_OK):
        return installed
    return os.path.join(os.path.dirname(here), "build", "platforms", "smmu-sim")


def run_smmu_sim(argv, stats=False, timeout=600):
    """One smmu-sim run on whatever machine runs the task: its exit status, the
    ends of its output and, with `stats`, the statistics JSON it wrote."""
    env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
    with tempfile.TemporaryDirectory(prefix="smmu-farm-") as tmp:
        args = list(argv)
        stats_file = os.path.join(tmp, "stats.json")
        if stats:
            args += ["--stats", stats_file]
        started = time.monotonic()
        run = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             errors="replace", timeout=timeout)
        if run.returncode < 0:
            # Killed by a signal (a crash, an OOM kill): worth a retry elsewhere.
            raise RuntimeError(f"{args[0]} died of signal {-run.returncode}: {run.stderr[-500:]}")
        result = {"returncode": run.returncode, "stdout": run.stdout[-TAIL:], "stderr": run.stderr[-TAIL:],
                  "host_s": time.monotonic() - started, "worker": os.uname().nodename}
        if stats and os.path.exists(stats_file):
            with open(stats_file, encoding="utf-8") as f:
                result["stats"] = json.load(f)
        return result


def _client(scheduler, workers):
    from distributed import Client, LocalCluster
    if scheduler:
        client = Client(scheduler, timeout="30s")
        # Workers elsewhere get this module (the tasks' code) from the client.
        client.upload_file(os.path.abspath(__file__))
        return client, None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    return Client(cluster), cluster


def run_tasks(tasks, scheduler=None, workers=2, retries=2, label="tasks"):
    """tasks: [(name, function, args, kwargs)]. Returns {name: result}; a task that
    failed after its retries gives {"error": text}. Prints progress and an ETA."""
    from distributed import as_completed
    client, cluster = _client(scheduler, workers)
    try:
        futures = {}
        for name, function, args, kwargs in tasks:
            future = client.submit(function, *args, key=f"{label}-{name}-{time.time_ns()}", retries=retries,
                                   pure=False, **kwargs)
            futures[future] = name
        results = {}
        started = time.monotonic()
        for done, future in enumerate(as_completed(futures), 1):
            name = futures[future]
            try:
                results[name] = future.result()
            except Exception as e:  # noqa: BLE001 - any task failure is reported, never dropped
                results[name] = {"error": f"{type(e).__name__}: {e}", "returncode": None}
            elapsed = time.monotonic() - started
            eta = elapsed / done * (len(futures) - done)
            bar = "#" * (30 * done // len(futures))
            print(f"\r[{bar:<30}] {done}/{len(futures)} {label}, {elapsed:.0f} s, ETA {eta:.0f} s",
                  end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def write_junit(path, suite, cases):
    """cases: [(name, passed, message, seconds)]."""
    root = ET.Element("testsuite", name=suite, tests=str(len(cases)),
                      failures=str(sum(1 for _, ok, _, _ in cases if not ok)))
    for name, ok, message, seconds in cases:
        case = ET.SubElement(root, "testcase", classname=suite, name=name, time=f"{seconds:.3f}")
        if not ok:
            failure = ET.SubElement(case, "failure", message=message.splitlines()[0] if message else "failed")
            failure.text = message
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
