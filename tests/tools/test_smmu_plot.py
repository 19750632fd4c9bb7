#!/usr/bin/env python3
"""tools/smmu-plot on a real run: the bundled mixed live-update trace's
statistics (sampled every 5 us), from `--stats` and from the record, become
nine PNGs whose axes are labelled (with units where a quantity has one);
nothing-to-show is said on the axes, not skipped.

  test_smmu_plot.py SMMU_SIM
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
PNG = b"\x89PNG\r\n\x1a\n"
EXPECTED = {"translation-latency.png", "walk-latency.png", "walks-per-level.png", "hit-rates.png",
            "queue-occupancy.png", "dma-per-stream.png", "hit-rate-over-time.png",
            "throughput-over-time.png", "handover-timeline.png"}


def run(args):
    env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
    return subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class SmmuPlot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        tmp = pathlib.Path(cls.tmp.name)
        cls.stats = tmp / "stats.json"
        cls.record = tmp / "run.record"
        played = run([SIM, "--trace", str(ROOT / "traces" / "live-update-mixed.trace"), "--stats", str(cls.stats),
                      "--stats-interval", "5us", "--record", str(cls.record)])
        assert played.returncode == 0, played.stdout + played.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def plot(self, source, out):
        result = run([sys.executable, str(ROOT / "tools" / "smmu-plot"), "-o", str(out), "--manifest", str(source)])
        self.assertEqual(result.returncode, 0, result.stderr)
        return [json.loads(line) for line in result.stdout.splitlines()]

    def check(self, source):
        out = pathlib.Path(self.tmp.name) / source.stem
        manifest = self.plot(source, out)
        self.assertEqual({m["file"] for m in manifest}, EXPECTED)
        for name in EXPECTED:
            data = (out / name).read_bytes()
            self.assertTrue(data.startswith(PNG), name)
            self.assertGreater(len(data), 5000, f"{name} looks empty")
        for m in manifest:
            for key in ("title", "xlabel", "ylabel"):
                self.assertTrue(m[key], f"{m['file']}: no {key}")
        labels = {m["title"]: m for m in manifest}
        self.assertIn("(ns", labels["Translation latency per StreamID"]["xlabel"])
        self.assertIn("(ns", labels["Walk latency per stage"]["xlabel"])
        self.assertIn("(ns)", labels["Table read latency per level"]["ylabel"])
        self.assertIn("(%)", labels["Cache hit rates"]["ylabel"])
        self.assertIn("entries", labels["Queue occupancy"]["xlabel"])
        self.assertIn("(MB/s)", labels["DMA throughput per StreamID over time"]["ylabel"])
        self.assertIn("(us)", labels["Handover timeline"]["xlabel"])

    def test_from_the_statistics_file(self):
        self.check(self.stats)

    def test_from_the_record(self):
        # A record has no timeline or handover phases: those plots say so, and still have their axes.
        self.check(self.record)

    def test_the_run_has_what_the_plots_show(self):
        stats = json.loads(self.stats.read_text())
        tbu = next(g for g in stats.values() if isinstance(g, dict) and "streams" in g)
        self.assertEqual(set(tbu["streams"]), {"0x10", "0x11", "0x12", "0x13"})
        # 0x11 wrote 64 KiB, then read it in the kexec phase and after adopt.
        self.assertEqual(tbu["streams"]["0x11"]["bytes"], 3 * (64 << 10))
        self.assertGreater(len(stats["timeline"]), 10)
        self.assertEqual([p["phase"] for p in stats["platform.handover"]["phases"]],
                         ["running", "preserve", "shutdown", "kexec", "adopt", "finish"])
        tcu = next(g for n, g in stats.items() if n.endswith(".tcu"))
        self.assertGreater(tcu["s1_walk_latency"]["count"], 0)
        self.assertGreater(tcu["s2_walk_latency"]["count"], 0)

    def test_unreadable_input_exits_2(self):
        result = run([sys.executable, str(ROOT / "tools" / "smmu-plot"), "/no/such/stats.json"])
        self.assertEqual(result.returncode, 2)


if __name__ == "__main__":
    SIM = sys.argv.pop(1)
    unittest.main(verbosity=2)
