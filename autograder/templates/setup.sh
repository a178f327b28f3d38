#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built (it has network there).
# It makes $ROOT/venv with the pinned grading requirements; CPU-only torch wheels come
# from PyTorch's CPU index. The system python3 is never modified.
#
# Offline modes (used by the kit's own tests, or a course server without network):
#   AUTOGRADER_WHEELHOUSE=/dir       install from local wheels only (pip --no-index)
#   AUTOGRADER_EXISTING_VENV=/venv   use an existing venv instead of creating one
# Other overrides: AUTOGRADER_ROOT (default /autograder), AUTOGRADER_SOURCE, PYTHON (default python3).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="${AUTOGRADER_SOURCE:-$ROOT/source}"
VENV="$ROOT/venv"
PYTHON="${PYTHON:-python3}"
TORCH_INDEX="https://download.pytorch.org/whl/cpu"

say() { echo "[setup.sh] $*"; }

if [ -n "${AUTOGRADER_EXISTING_VENV:-}" ]; then
    [ -x "$AUTOGRADER_EXISTING_VENV/bin/python" ] || { say "error: $AUTOGRADER_EXISTING_VENV/bin/python not found; point AUTOGRADER_EXISTING_VENV at a venv"; exit 1; }
    ln -sfn "$AUTOGRADER_EXISTING_VENV" "$VENV"
    say "using existing venv $AUTOGRADER_EXISTING_VENV"
else
    if ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c "import ensurepip" >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${AUTOGRADER_WHEELHOUSE:-}" ]; then
            say "installing python3-venv"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        else
            say "error: $PYTHON cannot create virtual environments; install python3-venv"; exit 1
        fi
    fi
    "$PYTHON" -m venv "$VENV"
    if [ -n "${AUTOGRADER_WHEELHOUSE:-}" ]; then
        say "installing from wheelhouse $AUTOGRADER_WHEELHOUSE (offline)"
        "$VENV/bin/python" -m pip install --quiet --no-index --find-links "$AUTOGRADER_WHEELHOUSE" -r "$SOURCE/requirements.txt"
    else
        say "installing pinned requirements (torch from the CPU-only index)"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet --extra-index-url "$TORCH_INDEX" -r "$SOURCE/requirements.txt"
    fi
fi
# Held-out data for grading a trained model ([heldout] gradescope = "..."): fetched here, where
# Gradescope gives network, checked against its MD5, kept root-only in $SOURCE/data.
# AUTOGRADER_HELDOUT=skip leaves it out (graders then use the [heldout] offline dataset).
HELDOUT="$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("heldout", {}).get("gradescope", ""))' "$SOURCE/assignment.json")"
if [ -n "$HELDOUT" ]; then
    if [ "${AUTOGRADER_HELDOUT:-}" = "skip" ]; then
        say "not fetching held-out data $HELDOUT (AUTOGRADER_HELDOUT=skip): the offline dataset will be used"
    else
        say "fetching held-out data $HELDOUT"
        (cd "$SOURCE" && "$VENV/bin/python" -m autograder.heldout fetch "$HELDOUT" --dest "$SOURCE/data")
    fi
fi
# Fail the image build now, not at the first submission.
cd "$SOURCE"
"$VENV/bin/python" - <<'PY'
import json, importlib, sys
sys.path.insert(0, ".")
mods = {"numpy": "numpy", "pytest": "pytest", "torch": "torch", "torchvision": "torchvision", "captum": "captum", "scikit-learn": "sklearn"}
cfg = json.load(open("assignment.json"))
for pkg in cfg.get("grader_packages", []):
    importlib.import_module(mods.get(pkg, pkg.replace("-", "_")))
import autograder.harness  # noqa: F401  the engine imports with these packages
print("[setup.sh] grading environment ready: Python %d.%d" % sys.version_info[:2])
PY
