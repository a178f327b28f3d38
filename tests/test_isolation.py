"""Worker confinement helpers (autograder/sandbox/isolation.py)."""
import os
import shutil
import sys

import pytest

from autograder.sandbox import Sandbox, SandboxError, isolation


def test_paths_under_private_tmpfs_need_a_mirror():
    """The confined worker sees /tmp, /var/tmp and /dev/shm as empty: a venv there must be mirrored."""
    assert isolation.needs_mirror("/tmp/anything/venv/bin/python")
    assert isolation.needs_mirror("/var/tmp/v/bin/python")
    assert isolation.under_masked("/dev/shm/x") and not isolation.under_masked("/var/lib/agk-sandbox/x")
    assert not isolation.under_masked("/tmpfoo/bin/python")


@pytest.mark.skipif(not isolation.is_root(), reason="confinement needs a root harness")
def test_masked_interpreter_fails_loudly_not_as_root(tmp_path_factory):
    """An interpreter path under /tmp would vanish in the worker's namespace: say so, run nothing."""
    link_dir = "/tmp/agk-test-masked-python"
    os.makedirs(link_dir, exist_ok=True)
    link = os.path.join(link_dir, "python")
    if not os.path.lexists(link):
        os.symlink(sys.executable, link)
    sub = "/var/lib/agk-sandbox/test-masked"
    os.makedirs(os.path.join(sub, "pkg"), exist_ok=True)
    with open(os.path.join(sub, "pkg", "__init__.py"), "w") as fh:
        fh.write("def ok():\n    return 1\n")
    confinement = isolation.Confinement()
    try:
        if not confinement.private_tmp:
            pytest.skip("no mount namespaces here, so /tmp is not masked")
        sb = Sandbox(sub, python=link, confinement=confinement)
        with pytest.raises(SandboxError, match="cannot run .* Student code was NOT run as root"):
            sb.call("pkg:ok")
        sb.close()
        mirrored = isolation.reachable_python(os.path.join(os.path.dirname(os.path.dirname(sys.executable)),
                                                           "bin", "python"))
        assert not isolation.under_masked(mirrored)
    finally:
        confinement.release()
        os.unlink(link)
        os.rmdir(link_dir)
        shutil.rmtree(sub, ignore_errors=True)
