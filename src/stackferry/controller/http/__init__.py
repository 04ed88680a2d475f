"""The controller's HTTP face: the specification's REST API, a live event stream and the
dashboard, served by uvicorn beside the gRPC server. A second thin adapter over the same
ControllerService as controller/api, with the same error table."""
