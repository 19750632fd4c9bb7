#!/usr/bin/env python3
"""smmu-sim's views on a real run (the bundled live-update trace): the
Perfetto/Chrome JSON has a named track per StreamID with a slice per
transaction (IOVA, PA, bytes, response), command and event markers and the
handover phases in order; the VCD has the IRQ lines and queue pointers, and
the pointers move. An approximately-timed run adds a track per walk slot and
the busy slots to the VCD. Unwritable view files are refused before the run.

  test_views.py SMMU_SIM
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SIM = None


def run(args, cwd=None):
    env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
    return subprocess.run(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Views(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        tmp = pathlib.Path(cls.tmp.name)
        cls.perfetto = tmp / "run.json"
        cls.vcd = tmp / "run.vcd"
        played = run([SIM, "--trace", str(ROOT / "traces" / "live-update-s1.trace"), "--perfetto", str(cls.perfetto),
                      "--vcd", str(cls.vcd)], cwd=tmp)
        assert played.returncode == 0, played.stdout + played.stderr
        cls.events = json.loads(cls.perfetto.read_text())["traceEvents"]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_a_named_track_per_stream_with_a_slice_per_transaction(self):
        names = {e["tid"]: e["args"]["name"] for e in self.events if e["ph"] == "M" and e["name"] == "thread_name"
                 and e["pid"] == 1}
        self.assertEqual(names, {0x10: "StreamID 0x10", 0x11: "StreamID 0x11"})
        slices = [e for e in self.events if e["ph"] == "X" and e["pid"] == 1]
        ok = [e for e in slices if e["cat"] == "dma"]
        errors = [e for e in slices if e["cat"] == "dma,error"]
        self.assertGreater(len(ok), 1000)
        self.assertTrue(all("pa" in e["args"] and e["args"]["response"] == "ok" for e in ok))
        self.assertTrue(errors, "the aborted stream's DMAs and the fault after unmap are error slices")
        self.assertTrue(all(e["dur"] >= 0 and e["ts"] >= 0 for e in slices))
        first = min(ok, key=lambda e: e["ts"])
        self.assertEqual(first["args"]["iova"], "0x100000")
        self.assertEqual(first["args"]["pa"], "0x100000000")

    def test_command_and_event_markers(self):
        commands = [e["name"] for e in self.events if e.get("cat") == "command"]
        self.assertIn("CMD_SYNC", commands)
        self.assertIn("CMD_CFGI_STE", commands)
        events = [e for e in self.events if e.get("cat") == "event"]
        self.assertEqual([e["name"] for e in events], ["F_TRANSLATION"])
        self.assertEqual(events[0]["args"]["sid"], "0x10")

    def test_handover_phases_in_order(self):
        phases = sorted((e for e in self.events if e.get("cat") == "handover"), key=lambda e: e["ts"])
        self.assertEqual([p["name"] for p in phases], ["preserve", "shutdown", "kexec", "adopt", "finish"])
        kexec = phases[2]
        self.assertGreaterEqual(kexec["dur"], 10.0, "kexec lasts handover.kexec_us (10 us)")

    def test_vcd_has_irq_lines_and_moving_queue_pointers(self):
        text = self.vcd.read_text()
        for var in ("eventq_irq", "gerror_irq", "cmdq_prod", "cmdq_cons", "eventq_prod", "eventq_cons"):
            self.assertIn(f" {var} ", text)
        ident = next(l.split()[3] for l in text.splitlines() if l.startswith("$var") and " cmdq_prod " in l)
        changes = [l for l in text.splitlines() if l.startswith("b") and l.endswith(" " + ident)]
        self.assertGreater(len(changes), 10, "the command queue's PROD moves as the driver works")

    def test_at_runs_have_a_track_per_walk_slot_and_slot_occupancy_in_the_vcd(self):
        tmp = pathlib.Path(self.tmp.name)
        perfetto, vcd = tmp / "at.json", tmp / "at.vcd"
        played = run([SIM, "--trace", str(ROOT / "traces" / "tlb-pressure.trace"), "--set", "smmu.timing=at",
                      "--set", "smmu.tcu.walk_slots=4", "--perfetto", str(perfetto), "--vcd", str(vcd)], cwd=tmp)
        self.assertEqual(played.returncode, 0, played.stdout + played.stderr)
        events = json.loads(perfetto.read_text())["traceEvents"]
        tracks = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"
                  and e["pid"] == 4}
        self.assertEqual(tracks, {n: f"walk slot {n}" for n in range(4)})
        walks = [e for e in events if e.get("cat") == "walk"]
        self.assertEqual(len(walks), 1024, "one slice per walk: 1024 pages, the second pass hits")
        self.assertTrue(all(e["dur"] > 0 and e["args"]["waited_ns"] >= 0 for e in walks))
        for slot in range(4):  # a slot serves one walk at a time
            spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in walks if e["tid"] == slot)
            self.assertTrue(all(a[1] <= b[0] + 1e-9 for a, b in zip(spans, spans[1:])), f"slot {slot} overlaps")
        text = vcd.read_text()
        ident = next(l.split()[3] for l in text.splitlines() if l.startswith("$var") and " busy_walk_slots " in l)
        values = {int(l[1:].split()[0], 2) for l in text.splitlines() if l.startswith("b") and l.endswith(" " + ident)}
        self.assertEqual(max(values), 4, "all four slots busy at some time")

    def test_unwritable_view_files_are_refused_before_the_run(self):
        for option in ("--perfetto", "--vcd"):
            refused = run([SIM, "--trace", str(ROOT / "traces" / "s1-4k.trace"), option, "/no/such/dir/view"])
            self.assertEqual(refused.returncode, 2, option)
            self.assertIn("cannot write", refused.stderr)


if __name__ == "__main__":
    SIM = sys.argv.pop(1)
    unittest.main(verbosity=2)
