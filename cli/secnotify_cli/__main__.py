from secnotify_cli.main import main

raise SystemExit(main())
