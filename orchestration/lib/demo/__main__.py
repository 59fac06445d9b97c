"""`python -m orchestration.lib.demo --preset tiny --seed 7 --out DIR`: see the package's docstring."""

from orchestration.lib.demo import main

raise SystemExit(main())
