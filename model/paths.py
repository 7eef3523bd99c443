"""Where the project's own data and the bundled artifact live (relative to the source tree)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
DEFAULT_ARTIFACT = ARTIFACTS_DIR / "default"
SHARED_DATA_DIR = ROOT.parent / "shared" / "data"
