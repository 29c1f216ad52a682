"""One release path for one service or many (`release`, `deploy`; `--service web` is the N=1 case of
`--all`): `request` holds the typed request and outcome, `prepare.prepare(targets, request)` checks every
service and builds its plan (nothing written), `run.run(prepared, request, ...)` applies the release
policies and runs the plans. See docs/architecture.md."""
