"""`python -m stackferry.cli` is the `stackferry` command."""

from stackferry.cli.main import main

raise SystemExit(main())
