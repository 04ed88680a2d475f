"""The controller's domain: migration model, pure state machine, plans and compose translation."""
