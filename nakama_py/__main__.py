from nakama_py.cli import main

raise SystemExit(main())
