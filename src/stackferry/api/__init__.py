"""The generated gRPC contract (from proto/stackferry/api/): owned by neither daemon, imported
by both. Never edited by hand: `make proto` regenerates it, `make proto-check` fails on a diff."""
