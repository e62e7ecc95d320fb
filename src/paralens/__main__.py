import sys

from paralens.cli import main

sys.exit(main())
