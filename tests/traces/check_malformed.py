#!/usr/bin/env python3
"""Plays one malformed trace with smmu-sim and checks that it is refused before
anything runs: exit status 2, no crash, no hang, and a `file:line:column:
message` naming the place the trace's first line gives (`# expect: L:C: text`).
A trace whose second line is `# exit: 1` is well formed but must fail while
playing: exit status 1 and the message about the expectation that set it.

  check_malformed.py SMMU_SIM TRACE         a file from tests/traces/malformed
  check_malformed.py SMMU_SIM --generate K  K: long-line, binary-garbage, empty
"""
import os
import subprocess
import sys
import tempfile

GENERATED = {
    # A 10 MB line: refused at the byte past the limit, without reading it whole into a statement.
    "long-line": (b"smmu-trace 1\n" + b"mmio read " + b"0" * (10 << 20) + b"\n", "2:4097: line longer than 4096 bytes"),
    # Binary garbage after the header.
    "binary-garbage": (b"smmu-trace 1\n" + bytes(range(256)) * 64, "2:1: byte 0x00 is not printable ASCII"),
    "empty": (b"", "1:1: empty trace"),
}


def main():
    sim, what = sys.argv[1], sys.argv[2]
    wanted_exit = 2
    with tempfile.TemporaryDirectory() as tmp:
        if what == "--generate":
            content, expect = GENERATED[sys.argv[3]]
            trace = os.path.join(tmp, sys.argv[3] + ".trace")
            with open(trace, "wb") as f:
                f.write(content)
        else:
            trace = what
            with open(trace, encoding="ascii", errors="replace") as f:
                first = f.readline()
            if not first.startswith("# expect: "):
                print(f"{trace}: the first line must be '# expect: LINE:COLUMN: message'")
                return 1
            expect = first[len("# expect: "):].strip()
            with open(trace, encoding="ascii", errors="replace") as f:
                f.readline()
                second = f.readline()
            if second.startswith("# exit: "):
                wanted_exit = int(second[len("# exit: "):])
        env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
        try:
            run = subprocess.run([sim, "--trace", trace], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 timeout=60)
        except subprocess.TimeoutExpired:
            print(f"{trace}: smmu-sim did not finish within 60 s")
            return 1
        err = run.stderr.decode(errors="replace") + run.stdout.decode(errors="replace")
        location, _, message = expect.partition(": ")
        wanted = f"{trace}:{location}: "
        ok = True
        if run.returncode != wanted_exit:
            print(f"exit status {run.returncode}, expected {wanted_exit}")
            ok = False
        if wanted not in err or message not in err:
            print(f"expected '{wanted}' and '{message}' in stderr")
            ok = False
        if not ok:
            print("stderr:", err[:2000])
            print("stdout:", run.stdout.decode(errors="replace")[:2000])
            return 1
        print(err.strip()[:300])
        return 0


if __name__ == "__main__":
    sys.exit(main())
