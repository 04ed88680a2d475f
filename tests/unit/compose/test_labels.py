"""Reading the project a container was started from out of its compose labels."""

from __future__ import annotations

from stackferry.compose.labels import (
    CONFIG_FILES,
    ENVIRONMENT_FILE,
    WORKING_DIR,
    LabelledProject,
    files_conflict,
    project_from_labels,
)


def test_v2_labels_are_absolute() -> None:
    labels = {
        WORKING_DIR: "/srv/app",
        CONFIG_FILES: "/srv/app/compose.yaml,/srv/app/compose.override.yaml",
        ENVIRONMENT_FILE: "/srv/app/prod.env",
    }
    assert project_from_labels(labels) == LabelledProject(
        "/srv/app",
        ("/srv/app/compose.yaml", "/srv/app/compose.override.yaml"),
        ("/srv/app/prod.env",),
    )


def test_v1_relative_paths_are_read_against_the_working_dir() -> None:
    labels = {WORKING_DIR: "/srv/app", CONFIG_FILES: "base.yml,conf/prod.yml,../x/y.yml"}
    assert project_from_labels(labels).files == (
        "/srv/app/base.yml",
        "/srv/app/conf/prod.yml",
        "/srv/x/y.yml",
    )


def test_no_labels_no_project() -> None:
    assert project_from_labels({}) == LabelledProject("", (), ())
    assert project_from_labels({WORKING_DIR: "/srv/app"}).files == ()


def test_an_explicit_list_that_differs_is_reported_naming_both() -> None:
    labelled = project_from_labels({WORKING_DIR: "/a", CONFIG_FILES: "/a/base.yml,/a/prod.yml"})
    assert files_conflict(["/a/base.yml", "/a/prod.yml"], labelled) == ""
    message = files_conflict(["/a/base.yml"], labelled)
    assert "/a/base.yml, /a/prod.yml" in message and "(/a/base.yml)" in message
    assert files_conflict(["/a/x.yml"], project_from_labels({})) == ""
