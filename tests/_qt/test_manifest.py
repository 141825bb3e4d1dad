import subprocess
import sys


def test_manifest_validates_with_imports():
    res = subprocess.run(
        [sys.executable, "-m", "npe2", "validate", "napari-n2v", "--imports"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "valid" in res.stdout
