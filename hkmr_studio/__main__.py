"""python -m hkmr_studio: same as the hkmr-studio command."""

import sys

from hkmr_studio.cli import main

sys.exit(main())
