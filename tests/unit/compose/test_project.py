"""compose/project.py: the project name, in the order Compose documents."""

from __future__ import annotations

import pytest

from stackferry.compose import ComposeError, load_compose, normalise_project_name


@pytest.mark.parametrize(
    ("text", "project_dir", "explicit", "env", "expected"),
    [
        ("services: {}\n", "/srv/My Blog_2", "", "", "myblog_2"),
        ("services: {}\n", "/srv/__x", "", "", "x"),
        ("services: {}\n", "/x/Dir-Name_1", "", "", "dir-name_1"),
        ("name: shop\nservices: {}\n", "/srv/blog", "", "", "shop"),
        ("name: ${N}\nservices: {}\n", "/srv/blog", "", "N=from-env\n", "from-env"),
        ("name: ${N}\nservices: {}\n", "/srv/blog", "", "", "blog"),
        ("services: {}", "/x/Dir-Name_1", "", "COMPOSE_PROJECT_NAME=envname", "envname"),
        # COMPOSE_PROJECT_NAME wins over `name:`, as Compose documents it.
        ("name: shop\nservices: {}\n", "/srv/blog", "", "COMPOSE_PROJECT_NAME=cp\n", "cp"),
        ("name: Declared\nservices: {}", "/x/D", "", "COMPOSE_PROJECT_NAME=envname", "envname"),
        ("name: shop\nservices: {}\n", "/srv/blog", "explicit", "", "explicit"),
        ("name: d\nservices: {}", "/x/D", "given", "COMPOSE_PROJECT_NAME=envname", "given"),
    ],
)
def test_project_name_precedence(
    text: str, project_dir: str, explicit: str, env: str, expected: str
) -> None:
    assert load_compose(text, env, project_dir, explicit).project_name == expected


def test_a_typed_name_normalised_like_the_agent_does_for_inspect_wins() -> None:
    explicit = normalise_project_name("Given_Name")
    compose = load_compose(
        "name: declared\nservices: {}", "COMPOSE_PROJECT_NAME=envname", "/x/Dir-Name_1", explicit
    )
    assert compose.project_name == "given_name"


def test_normalise_project_name_like_compose() -> None:
    assert normalise_project_name("_My.App-2") == "myapp-2"


def test_names_from_the_files_are_normalised_as_the_agent_always_did() -> None:
    assert load_compose("name: Shop\nservices: {}\n", "", "/srv/x").project_name == "shop"
    compose = load_compose("services: {}\n", "COMPOSE_PROJECT_NAME=My_App\n", "/srv/x")
    assert compose.project_name == "my_app"


def test_project_name_errors() -> None:
    with pytest.raises(ComposeError, match="line 1: project name '' from name:"):
        load_compose("name: ___\nservices: {}\n", "", "/srv/x")
    with pytest.raises(ComposeError, match="'-p'|from -p"):
        load_compose("services: {}\n", "", "/srv/x", "bad name")
    with pytest.raises(ComposeError, match="COMPOSE_PROJECT_NAME"):
        load_compose("services: {}\n", "COMPOSE_PROJECT_NAME=!!\n", "/srv/x")
    with pytest.raises(ComposeError, match="directory"):
        load_compose("services: {}\n", "", "/srv/...")


def test_unusable_project_name_is_refused() -> None:
    with pytest.raises(ComposeError, match="invalid project name"):
        load_compose("services: {}", "", "/x/...")
