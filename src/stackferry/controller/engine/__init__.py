"""The migration engine: a driver (engine/driver.py) that runs the step functions of
engine/steps/ one transition at a time, under the store lease."""
