"""`python -m gateway` runs the `crosswalk` command."""

import sys

from gateway.cli import main

sys.exit(main())
