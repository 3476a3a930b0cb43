import sys

from check.cli import main

sys.exit(main())
