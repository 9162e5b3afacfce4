"""`python -m leadbridge`: the same as the `leadbridge` command."""

from leadbridge.cli import main

raise SystemExit(main())
