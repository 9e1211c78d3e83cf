"""`python -m enrollcfn` runs the command line."""

from enrollcfn.cli import main

raise SystemExit(main())
