"""The controller's gRPC adapter: servicer (thin), convert (pb <-> domain), status (errors)."""
