from nakama_py.bench.cli import main

raise SystemExit(main())
