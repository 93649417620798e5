"""The plain-value converter gives what Typer's own converter gives: values and errors alike.

Each case converts one command-line value both ways, through ``PlainValue`` (which hands what
it does not take to Typer's converter) and through Typer's converter alone.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest

from keyscope.cli.coercion import PlainValue, TextList, _is_text_list
from keyscope.cli.formats import OutputFormat

coercion = pytest.importorskip("typer._coercion", reason="a Typer without pydantic converters")
typer_core = pytest.importorskip("typer.core")
typer_models = pytest.importorskip("typer.models")


class Size(Enum):
    SMALL = 1
    LARGE = 2


def _param(kind: Any, *, multiple: bool = False, **info: Any) -> Any:
    """A Typer option of type ``kind`` (constraints as ``typer.Option`` takes them)."""
    parameter_info = typer_models.OptionInfo(**info)
    descriptor = coercion.resolve_type_descriptor(kind, parameter_info)
    return typer_core.TyperOption(
        param_decls=["--value"], type_descriptor=descriptor, default=None, multiple=multiple
    )


def _convert(converter: Any, param: Any, value: Any) -> tuple[str, Any]:
    try:
        return "value", converter.coerce(value, param=param, ctx=None)
    except Exception as exc:  # the error is part of what must match
        return type(exc).__name__, str(getattr(exc, "message", exc))


CASES = [
    (str, {}, ["dump.rdb", "", " spaced ", "-", "redis://:p@h:1", None]),
    (int, {}, ["0", "7", "1000", "007", "-3", " 5", "5_000", "1.5", "x", "", 12, None]),
    (int, {"min": 0}, ["0", "5", "-1", 3, -4]),
    (int, {"min": 1, "max": 65535}, ["1", "65535", "65536", "0"]),
    (int, {"min": 0, "clamp": True}, ["-5", "5"]),
    (float, {"min": 0}, ["0", "2.5", "10", "-1", ".5", "1.", "01.5", "1.2.3", "1e3", "x", 1.5]),
    (OutputFormat, {}, ["table", "json", "csv", "TABLE", "xml", "", OutputFormat.CSV, None]),
    (OutputFormat, {"case_sensitive": False}, ["TABLE", "Json"]),
    (Size, {}, ["1", "2", "3", "SMALL", Size.LARGE]),
    (bool, {}, [True, False, "true", "no", None]),
]


@pytest.mark.parametrize(
    ("kind", "info", "value"),
    [(k, i, v) for k, i, values in CASES for v in values],
    ids=lambda x: repr(x)[:30],
)
def test_a_value_converts_as_typer_converts_it(kind: Any, info: dict[str, Any], value: Any) -> None:
    param = _param(kind, **info)
    typers = coercion.build_runtime_param(param.type_descriptor)
    plain = PlainValue(kind, param.type_descriptor.parameter_info, lambda: typers)

    ours, theirs = _convert(plain, param, value), _convert(typers, param, value)

    assert ours == theirs
    assert type(ours[1]) is type(theirs[1])


@pytest.mark.parametrize(
    ("kind", "info", "value", "expected"),
    [
        (str, {}, "dump.rdb", "dump.rdb"),
        (int, {"min": 0}, "500", 500),
        (int, {"min": 1}, 1000, 1000),
        (float, {"min": 0}, "2.5", 2.5),
        (OutputFormat, {}, "csv", OutputFormat.CSV),
        (OutputFormat, {}, OutputFormat.JSON, OutputFormat.JSON),
        (bool, {}, True, True),
        (int, {}, None, None),
    ],
)
def test_plain_values_do_not_build_typers_converter(
    kind: Any, info: dict[str, Any], value: Any, expected: Any
) -> None:
    param = _param(kind, **info)

    def typers() -> Any:
        raise AssertionError("Typer's converter (pydantic) was built for a plain value")

    plain = PlainValue(kind, param.type_descriptor.parameter_info, typers)

    assert plain.coerce(value, param=param, ctx=None) == expected


@pytest.mark.parametrize(
    "value",
    [(), ("10.0.0.5:6379",), ("a:1", "b:2", "a:1"), ["x:1"], None, ("a:1", 2), "a:1"],
    ids=repr,
)
def test_a_repeatable_text_option_converts_as_typer_converts_it(value: Any) -> None:
    param = _param(list[str], multiple=True)
    typers = coercion.build_runtime_param(param.type_descriptor)
    plain = TextList(lambda: typers)

    ours, theirs = _convert(plain, param, value), _convert(typers, param, value)

    assert _is_text_list(param)
    assert ours == theirs
    assert type(ours[1]) is type(theirs[1])


def test_text_values_of_a_repeatable_option_do_not_build_typers_converter() -> None:
    def typers() -> Any:
        raise AssertionError("Typer's converter (pydantic) was built for plain text values")

    param = _param(list[str], multiple=True)

    assert TextList(typers).coerce(("a:1", "b:2"), param=param, ctx=None) == ["a:1", "b:2"]
    assert not _is_text_list(_param(list[int], multiple=True))
    assert not _is_text_list(_param(str))
