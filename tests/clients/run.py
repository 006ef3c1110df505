"""Runs the client-compatibility checks quietly: only failures in full, then one closing line.

Called by scripts/client-compat.sh with a2i-local running and its variables exported.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    sys.path.insert(0, HERE)
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    with open(os.devnull, "w") as quiet:
        result = unittest.TextTestRunner(stream=quiet, verbosity=0).run(suite)
    problems = result.failures + result.errors
    for test, trace in problems:
        print(f"FAIL: {test.id()}\n{trace}", file=sys.stderr)
    for test in result.unexpectedSuccesses:
        print(
            f"FAIL: {test.id()} is marked as a known issue but passed: remove the marker",
            file=sys.stderr,
        )
    known = len(result.expectedFailures)
    failed = len(problems) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped) - known
    line = f"{passed} passed, {failed} failed"
    if known:
        line += f" ({known} known issue{'s' if known > 1 else ''}, see its docstring)"
    print(line)
    if result.testsRun == 0:
        print("no checks were found", file=sys.stderr)
        return 1
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
