"""Package versions shipped in the built zips (student requirements.txt and the
Gradescope venv). Gradescope's default image runs Python 3.10, which the newest
NumPy no longer supports, so some pins carry environment markers. The versions
for Python >= 3.11 must equal pyproject.toml's (a kit test checks)."""

PINS = {
    "numpy": ['numpy==2.2.6; python_version < "3.11"', 'numpy==2.4.6; python_version >= "3.11"'],
    "pytest": ["pytest==9.2.0"],
    "torch": ["torch==2.14.1"],
    "torchvision": ["torchvision==0.29.1"],
    "captum": ["captum==0.9.0"],
    "tqdm": ["tqdm==4.70.1"],
    "matplotlib": ['matplotlib==3.10.9; python_version < "3.11"', 'matplotlib==3.11.2; python_version >= "3.11"'],
    "scikit-learn": ['scikit-learn==1.7.2; python_version < "3.11"', 'scikit-learn==1.9.1; python_version >= "3.11"'],
    "jsonschema": ["jsonschema==4.26.0"],
    "ipykernel": ["ipykernel==7.4.0"],
    # students run the notebooks in JupyterLab and export their written answers with otter-grader
    "jupyterlab": ["jupyterlab==4.6.6"],
    "otter-grader": ["otter-grader==7.0.0"],
    "sacrebleu": ["sacrebleu==2.6.0"],
}
#: Where setup.sh gets CPU-only torch wheels on Gradescope (setup has network there).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def requirement_lines(packages) -> list:
    lines = []
    for name in packages:
        if name not in PINS:
            raise ValueError("no pinned version for package %r; add it to autograder/pins.py" % name)
        lines.extend(PINS[name])
    return lines
