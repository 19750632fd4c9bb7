#!/usr/bin/env python3
"""Sweeps and trace regressions on Dask distributed, the way a farm runs them:
a scheduler and two workers started here on loopback only (127.0.0.1), a small
sweep (smmu-sweep --scheduler) and a trace regression (smmu-trace-regress
--scheduler --junit) run through them, their CSV and JUnit output checked, and
everything shut down. Each step is bounded in time.

  test_farm.py SMMU_SIM
"""
import csv
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SIM = None
STEP_TIMEOUT = 300


class Farm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        tmp = pathlib.Path(cls.tmp.name)
        scheduler_file = tmp / "scheduler.json"
        env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
        cls.processes = [subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(scheduler_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the Dask scheduler did not start")
            time.sleep(0.2)
        time.sleep(0.5)  # the file is written before it is complete on slow machines
        cls.address = json.loads(scheduler_file.read_text())["address"]
        assert cls.address.startswith("tcp://127.0.0.1:"), cls.address
        for _ in range(2):
            cls.processes.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file),
                 "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        from distributed import Client
        with Client(cls.address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            workers = client.scheduler_info()["workers"]
        assert all(w.startswith("tcp://127.0.0.1:") for w in workers), workers

    @classmethod
    def tearDownClass(cls):
        for p in cls.processes:
            p.terminate()
        for p in cls.processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        cls.tmp.cleanup()

    def run_tool(self, args):
        env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
        return subprocess.run([sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=STEP_TIMEOUT)

    def test_a_sweep_through_the_cluster(self):
        out = pathlib.Path(self.tmp.name) / "sweep"
        result = self.run_tool([str(ROOT / "tools" / "smmu-sweep"), "--sim", SIM, "--scheduler", self.address,
                                "--trace", str(ROOT / "traces" / "s1-4k.trace"),
                                "--grid", "memory.read_latency_ns=10,40", "--grid", "smmu.tlb.entries=16,256",
                                "-o", str(out)])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = list(csv.DictReader((out / "sweep.csv").read_text().splitlines()))
        self.assertEqual(len(rows), 4)
        self.assertTrue(all(r["exit"] == "0" for r in rows))
        slow = [float(r["mean_walk_latency_ns"]) for r in rows if r["memory.read_latency_ns"] == "40"]
        fast = [float(r["mean_walk_latency_ns"]) for r in rows if r["memory.read_latency_ns"] == "10"]
        self.assertGreater(min(slow), max(fast), "slower memory, slower walks")
        self.assertTrue((out / "sweep-memory_read_latency_ns.png").stat().st_size > 5000)
        self.assertTrue((out / "sweep-smmu_tlb_entries.png").stat().st_size > 5000)

    def test_a_tlb_size_sweep_shows_walks_falling_as_entries_grow(self):
        out = pathlib.Path(self.tmp.name) / "sweep-tlb"
        sizes = ["16", "256", "1024", "4096"]
        result = self.run_tool([str(ROOT / "tools" / "smmu-sweep"), "--sim", SIM, "--scheduler", self.address,
                                "--trace", str(ROOT / "traces" / "tlb-pressure.trace"),
                                "--grid", "smmu.tlb.entries=" + ",".join(sizes), "-o", str(out)])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = {r["smmu.tlb.entries"]: int(r["walks"]) for r in csv.DictReader((out / "sweep.csv").read_text().splitlines())}
        walks = [rows[s] for s in sizes]
        self.assertEqual(walks, sorted(walks, reverse=True), f"walks never rise with more entries: {walks}")
        self.assertGreater(walks[0], walks[-1], f"a TLB holding the working set walks less: {walks}")

    def test_an_at_walk_slot_sweep_shows_latency_falling_with_more_slots(self):
        out = pathlib.Path(self.tmp.name) / "sweep-slots"
        slots = [str(n) for n in range(1, 9)]
        result = self.run_tool([str(ROOT / "tools" / "smmu-sweep"), "--sim", SIM, "--scheduler", self.address,
                                "--trace", str(ROOT / "traces" / "tlb-pressure.trace"), "--grid", "smmu.timing=at",
                                "--grid", "smmu.tcu.walk_slots=" + ",".join(slots), "-o", str(out)])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = {r["smmu.tcu.walk_slots"]: float(r["mean_translation_latency_ns"])
                for r in csv.DictReader((out / "sweep.csv").read_text().splitlines())}
        latency = [rows[n] for n in slots]
        self.assertEqual(latency, sorted(latency, reverse=True), f"latency never rises with more slots: {latency}")
        self.assertLess(latency[-1], latency[0] / 2, f"eight slots at least halve the latency of one: {latency}")
        self.assertTrue((out / "sweep-smmu_tcu_walk_slots.png").stat().st_size > 5000)

    def test_a_failed_point_is_a_row_not_a_gap(self):
        out = pathlib.Path(self.tmp.name) / "sweep-bad"
        result = self.run_tool([str(ROOT / "tools" / "smmu-sweep"), "--sim", SIM, "--scheduler", self.address,
                                "--trace", str(ROOT / "traces" / "s1-4k.trace"),
                                "--grid", "platform.granule=4096,8192", "-o", str(out)])
        self.assertEqual(result.returncode, 1)
        rows = list(csv.DictReader((out / "sweep.csv").read_text().splitlines()))
        self.assertEqual([r["exit"] for r in rows], ["0", "2"])
        self.assertIn("platform.granule", rows[1]["error"])

    def test_a_trace_regression_through_the_cluster(self):
        junit = pathlib.Path(self.tmp.name) / "regress.xml"
        result = self.run_tool([str(ROOT / "tools" / "smmu-trace-regress"), "--sim", SIM, "--scheduler", self.address,
                                "--junit", str(junit), str(ROOT / "traces" / "s1-4k.trace"),
                                str(ROOT / "traces" / "gbpa.trace"), str(ROOT / "traces" / "pasids.trace")])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        suite = ET.parse(junit).getroot()
        self.assertEqual(suite.get("tests"), "3")
        self.assertEqual(suite.get("failures"), "0")
        self.assertEqual(sorted(pathlib.Path(c.get("name")).name for c in suite.iter("testcase")),
                         ["gbpa.trace", "pasids.trace", "s1-4k.trace"])


if __name__ == "__main__":
    SIM = sys.argv.pop(1)
    unittest.main(verbosity=2)
