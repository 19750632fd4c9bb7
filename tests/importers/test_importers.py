#!/usr/bin/env python3
"""The trace importers on samples written to the published formats: the ftrace
text of include/trace/events/iommu.h and QEMU's hw/arm/trace-events lines.

  test_importers.py SMMU_SIM
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SIM = None


def run(args, **kw):
    env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
    return subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


class Ftrace(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.trace = pathlib.Path(self.tmp.name) / "ftrace.trace"
        self.result = run([sys.executable, str(ROOT / "tools" / "smmu-trace-from-ftrace"),
                           str(HERE / "ftrace-sample.txt"), "-o", str(self.trace)])
        self.text = self.trace.read_text()

    def tearDown(self):
        self.tmp.cleanup()

    def test_rebuilds_groups_attachments_and_mappings(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertIn("domain grp3 s1", self.text)
        self.assertIn("attach grp3 sid=0x10", self.text)
        self.assertIn("map grp3 iova=0xfffff000 pa=0x10041230000 size=0x1000", self.text)
        self.assertIn("map grp3 iova=0xffe00000 pa=0x10042000000 size=0x200000", self.text)
        # The older "iova=A - B paddr=" map form, and unmap by unmapped_size, on the second group's domain.
        self.assertIn("map grp4 iova=0xfffff000 pa=0x10043000000 size=0x1000", self.text)
        self.assertIn("unmap grp4 iova=0xfffff000 size=0x1000", self.text)

    def test_faults_become_dmas_expected_to_fault(self):
        self.assertIn("dma read sid=0x11 iova=0xfffff000 size=4 expect=fault", self.text)
        self.assertIn("dma write sid=0x10 iova=0x1000 size=4 expect=fault", self.text)

    def test_unknown_and_unreplayable_lines_are_counted_never_dropped(self):
        self.assertIn("1 not replayed, 2 unknown lines", self.result.stderr)
        self.assertIn("#   line 23:", self.text)  # another event (sched_switch)
        self.assertIn("#   line 25: this line is not ftrace output at all", self.text)
        self.assertIn("#   line 24: map of 0x64 bytes at 0x800 is not in whole 4 KiB pages", self.text)

    def test_the_trace_plays_and_passes(self):
        played = run([SIM, "--trace", str(self.trace)])
        self.assertEqual(played.returncode, 0, played.stdout + played.stderr)
        self.assertIn("2 DMAs, 2 expectations, 0 failed", played.stdout)


class Qemu(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.trace = pathlib.Path(self.tmp.name) / "qemu.trace"
        self.result = run([sys.executable, str(ROOT / "tools" / "smmu-trace-from-qemu"),
                           str(HERE / "qemu-sample.txt"), "--check", SIM, "-o", str(self.trace)])
        self.text = self.trace.read_text()

    def tearDown(self):
        self.tmp.cleanup()

    def test_successes_become_mappings_and_dmas_with_qemus_address(self):
        self.assertIn("map sid8 iova=0xfffff000 pa=0x41230000 size=4K prot=rw", self.text)
        self.assertIn("dma read sid=0x8 iova=0xfffff040 size=4 expect=ok pa=0x41230040", self.text)  # PID@time prefix
        self.assertIn("domain sid10 s2", self.text)
        self.assertIn("dma read sid=0x18 iova=0x40001000 size=1 expect=ok pa=0x40001000", self.text)

    def test_aborts_carry_the_event_qemu_recorded(self):
        self.assertIn("dma write sid=0x8 iova=0xffe00010 size=1 expect=fault event=F_PERMISSION", self.text)
        self.assertIn("dma read sid=0x8 iova=0x12345000 size=1 expect=fault event=F_TRANSLATION", self.text)

    def test_the_model_disagrees_only_where_the_trace_cannot_rebuild_qemus_state(self):
        # C_BAD_STE came from an STE the events do not describe: the model translates through the
        # rebuilt (valid) STE and reports F_TRANSLATION, and the note says so under that line.
        self.assertEqual(self.result.returncode, 1, self.result.stderr)
        self.assertIn("the model disagrees with QEMU on 1 expectation(s)", self.result.stderr)
        lines = self.text.splitlines()
        at = next(i for i, l in enumerate(lines) if "event=C_BAD_STE" in l)
        self.assertTrue(lines[at + 1].startswith("# MODEL DISAGREES WITH QEMU:"), lines[at + 1])
        self.assertIn("got F_TRANSLATION", lines[at + 1])

    def test_informational_and_unknown_lines_are_counted(self):
        self.assertIn("3 informational lines, 1 not replayed, 1 unknown lines", self.result.stderr)
        self.assertIn("smmu_ptw_level 1, smmu_ptw_page_pte 1, smmuv3_find_ste 1", self.text)
        self.assertIn("#   line 18: vfio_region_write", self.text)
        self.assertIn("# QEMU command CMD_TLBI_NH_ASID", self.text)

    def test_unreadable_input_exits_2(self):
        missing = run([sys.executable, str(ROOT / "tools" / "smmu-trace-from-qemu"), "/no/such/file"])
        self.assertEqual(missing.returncode, 2)


if __name__ == "__main__":
    SIM = sys.argv.pop(1)
    unittest.main(verbosity=2)
