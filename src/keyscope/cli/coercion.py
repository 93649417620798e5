"""Plain command-line values (text, whole and decimal numbers, an enum's value) without pydantic.

Typer 0.28 and later convert every parameter's value with a pydantic ``TypeAdapter`` built on
first use, the ``--help`` flag's included: ``keyscope rdb report dump.rdb`` then imports
pydantic and builds an adapter per parameter, which takes longer than reading a small RDB file.
``install`` puts a converter in front of Typer's for parameters of a plain type. It returns
what Typer would return for the values that are plainly valid (``"5"`` for an int, an enum's
exact value, any text for a str, a default of the declared type) and hands every other value to
Typer's own converter, built then: a bad value gets Typer's exact error, a path or a list
Typer's handling; a variadic text argument (``rdb report FILE...``) or a repeatable text
option (``instances add --address A --address B``) gets its values as a list. On a Typer
without that machinery (older, or rewritten) it does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

_UNSET: Any = object()


def _digits(text: str) -> bool:
    """ASCII digits only, few enough that every parser reads them alike."""
    return text.isascii() and text.isdigit() and len(text) < 18


def _whole(text: str) -> bool:
    """A whole number as people write it: no sign, no leading zero, no ``_``, no blanks."""
    return text == "0" or (_digits(text) and text[0] != "0")


def _decimal(text: str) -> bool:
    whole, dot, fraction = text.partition(".")
    return _whole(whole) and (not dot or _digits(fraction))


class PlainValue:
    """The converter of one single-valued parameter: None (not given, no default) and plain
    values here, the rest (a path, a bad value) by Typer's own converter."""

    __slots__ = ("_info", "_kind", "_typer", "_typers")

    def __init__(self, kind: Any, info: Any, typers: Callable[[], Any]) -> None:
        self._kind = kind
        self._info = info
        self._typers = typers
        """Builds Typer's converter (the same ``coerce``); called when a value first needs it."""
        self._typer: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return None
        plain = self._plain(value, ctx)
        if plain is not _UNSET:
            return plain
        if self._typer is None:
            self._typer = self._typers()
        return self._typer.coerce(value, param=param, ctx=ctx)

    def _plain(self, value: Any, ctx: Any) -> Any:
        kind, info = self._kind, self._info
        if type(value) is kind:  # a default of the declared type (or text for a str)
            return self._in_range(value) if kind in (int, float) else value
        if type(value) is not str:
            return _UNSET
        if kind is int and _whole(value):
            return self._in_range(int(value))
        if kind is float and _decimal(value):
            return self._in_range(float(value))
        if isinstance(kind, type) and issubclass(kind, Enum) and info.case_sensitive:
            if ctx is not None and ctx.token_normalize_func is not None:
                return _UNSET
            return next((m for m in kind if str(m.value) == value), _UNSET)
        return _UNSET

    def _in_range(self, number: float) -> Any:
        info = self._info
        if info.clamp or (info.min is not None and number < info.min):
            return _UNSET
        if info.max is not None and number > info.max:
            return _UNSET
        return number


class TextList:
    """The converter of a variadic text argument (``FILE...``) or a repeatable text option
    (``--address``): its values as a list of text, anything else by Typer's own converter."""

    __slots__ = ("_typer", "_typers")

    def __init__(self, typers: Callable[[], Any]) -> None:
        self._typers = typers
        self._typer: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, (tuple, list)) and all(type(v) is str for v in value):
            return list(value)
        if self._typer is None:
            self._typer = self._typers()
        return self._typer.coerce(value, param=param, ctx=ctx)


def _is_text_list(param: Any) -> bool:
    desc = param.type_descriptor
    many = param.nargs == -1 or (param.multiple and param.nargs == 1)
    return (
        many
        and desc.annotation == list[str]
        and desc.file_annotation is None
        and desc.parameter_info.parser is None
    )


def _is_single(param: Any) -> bool:
    """One value of one type: the parameters the converter above may stand in front of."""
    desc = param.type_descriptor
    if param.multiple or param.nargs != 1 or desc.file_annotation is not None:
        return False
    return desc.parameter_info.parser is None


def install() -> None:
    """Convert plain values without pydantic from now on, in this process (idempotent)."""
    try:
        from typer._coercion import build_runtime_param
        from typer.core import _TyperParameter
    except ImportError:
        return
    typers = getattr(_TyperParameter, "get_runtime_param", None)
    if typers is None or getattr(typers, "keyscope_plain", False):
        return

    def get_runtime_param(self: Any) -> Any:
        if getattr(self, "_runtime_param", _UNSET) is None:
            desc = self.type_descriptor
            if _is_single(self):
                self._runtime_param = PlainValue(
                    desc.annotation, desc.parameter_info, lambda: build_runtime_param(desc)
                )
            elif _is_text_list(self):
                self._runtime_param = TextList(lambda: build_runtime_param(desc))
        return typers(self)

    get_runtime_param.keyscope_plain = True  # type: ignore[attr-defined]
    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]
