"""Let the validation tests import the scripts that sit beside them."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
