"""compose/variables.py: `.env` parsing and interpolation, as Compose does them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackferry.compose import ComposeError
from stackferry.compose.variables import env_values, escape_literal, interpolate, parse_env


def test_parse_env_handles_comments_quotes_and_export() -> None:
    env = env_values(parse_env("# c\n\nA=1\nexport B=\"two words\"\nC='x'\nD=v # note\nnoequals\n"))
    assert env == {"A": "1", "B": "two words", "C": "x", "D": "v"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "a"),
        ("$A/x", "a/x"),
        ("${MISSING:-def}", "def"),
        ("${EMPTY:-def}", "def"),
        ("${EMPTY-def}", ""),
        ("${MISSING-def}", "def"),
        ("$$A", "$A"),
        ("${MISSING}", ""),
        ("${A:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${MISSING+alt}", ""),
        ("${A:?unused}", "a"),
        ("${EMPTY?unused}", ""),
        ("${MISSING:-${A}/x}", "a/x"),
        ("${A:+[$A]}", "[a]"),
    ],
)
def test_interpolate_like_compose(text: str, expected: str) -> None:
    assert interpolate(text, {"A": "a", "EMPTY": ""}, {}) == expected


@pytest.mark.parametrize("text", ["${DATA:?need data}", "${DATA?need data}"])
def test_interpolate_required_variable_missing_is_a_clear_error(text: str) -> None:
    with pytest.raises(ComposeError, match="DATA is not set: need data"):
        interpolate(text, {}, {})


def test_required_variable_set_but_empty_is_refused_only_with_the_colon() -> None:
    with pytest.raises(ComposeError, match="DATA is not set"):
        interpolate("${DATA:?}", {"DATA": ""}, {})
    assert interpolate("${DATA?}", {"DATA": ""}, {}) == ""


def test_the_environment_wins_over_dotenv() -> None:
    assert interpolate("$HOME/x", {"HOME": "/from-env-file"}, {"HOME": "/home/u"}) == "/home/u/x"


@pytest.mark.parametrize("text", ["${A", "$/a", "${A:/b}", "${}", "a$", "${A:-${B}"])
def test_invalid_interpolation_is_refused(text: str) -> None:
    with pytest.raises(ComposeError, match="invalid interpolation format") as raised:
        interpolate(text, {}, {}, line=7)
    assert raised.value.line == 7


_NAMES = st.sampled_from(["A", "B", "_x1"])
_ENV = st.dictionaries(_NAMES, st.text(max_size=8))


@given(text=st.text().filter(lambda t: "$" not in t), env=_ENV)
def test_a_value_without_a_dollar_is_unchanged(text: str, env: dict[str, str]) -> None:
    assert interpolate(text, env, {}) == text


@given(text=st.text(), env=_ENV)
def test_doubled_dollars_always_decode_to_the_text(text: str, env: dict[str, str]) -> None:
    assert interpolate(escape_literal(text), env, {}) == text


@given(
    name=_NAMES,
    env=_ENV,
    word=st.text().filter(lambda t: "$" not in t and "}" not in t),
    op=st.sampled_from([":-", "-", ":+", "+"]),
)
def test_default_and_alternative_follow_set_and_empty(
    name: str, env: dict[str, str], word: str, op: str
) -> None:
    value = env.get(name)
    needs = bool(value) if op.startswith(":") else value is not None
    expected = {
        "-": value if needs else word,
        "+": word if needs else "",
    }[op[-1]]
    assert interpolate(f"${{{name}{op}{word}}}", env, {}) == expected
