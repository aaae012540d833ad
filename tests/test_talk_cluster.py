# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Addition 13 (talk/cluster_handoff.c) at --quick on the real BEAM: a
verdict with its figures, and on this machine "holds" (the handoff window
is some 100 ms against round trips of some 100 us).  Without Erlang the
verdict is "cannot be shown here", naming why.  A claim that does not hold
is rerun; when every try fell on a busy machine the test is skipped as
inconclusive (conftest.shape_check)."""
import shutil

import pytest

from conftest import run_talk_claim, sanitizer_build, scaled, shape_check

CLAIM = "cluster-handoff"


@pytest.mark.talk
def test_cluster_handoff_claim(tmp_path):
    attempt = iter(range(10))

    def measure():
        return run_talk_claim(tmp_path / f"t{next(attempt)}", CLAIM,
                              timeout=int(scaled(400)))

    def judge(result):
        p, check = result
        assert check["order"] == 13 and check["addition"]
        assert check["figures"] and check["why"], check
        if shutil.which("erl") is None:
            assert check["verdict"] == "cannot be shown here", check
            return None
        assert any("handoff p50" in f for f in check["figures"]), check
        if sanitizer_build():
            return None  # the runner is sanitized, the BEAM is not: verdict only
        if check["verdict"] != "holds":
            return (f"{CLAIM}: {check['verdict']}: {check['why']}\n"
                    f"{p.stdout}\n{p.stderr[-2000:]}")
        return None

    shape_check(measure, judge, tries=2)
