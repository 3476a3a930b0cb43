"""`python scripts/reference.py [--write]`: checks (or, with --write, rewrites) the files made from the
config schema, components/config/schema.py: docs/reference/config.md and Pulumi.yaml."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from components.config.schema import main  # noqa: E402 - after the path it is found on

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
