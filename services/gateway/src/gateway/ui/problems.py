"""A service's refusal, said in the user's language.

Every service answers a refusal as a problem document (`crm_kit.errors`): a stable
`code`, its `params`, and for a 422 at fields FastAPI's list whose items carry `type`
(a code too) and `ctx` (its params). Here each code becomes the catalogue's text:

- `problem.<code>`: a refusal's sentence, `{name}` replaced by its params;
- `err.<type>`: pydantic's own error types (`missing`, `greater_than_equal`, ...);
- a param's value that has words of its own is said in them: `problem.<name>.<value>`
  (a kind of record, a status, a stage); a list is said item by item; a param named
  `...amount`, `...total` or `...limit` (not `limit` alone, pydantic's bound) is money,
  `..._on`/`...date`/`...until` a date.

A code the catalogue does not know falls back to a sentence for its status, in the
user's language: the English `detail` is never shown to a user.
"""

from __future__ import annotations

from typing import Any

from . import i18n

#: A status's sentence when its code has no words of its own.
_BY_STATUS = {
    401: "errors.login_again",
    403: "errors.forbidden",
    404: "errors.not_found",
    409: "errors.conflict",
}


def has_words(key: str) -> bool:
    return key in i18n.MESSAGES


def say_param(lang: str, name: str, value: Any) -> str:
    """One param's value in the user's words."""
    if isinstance(value, list | tuple):
        return ", ".join(say_param(lang, name, item) for item in value)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, str) and has_words(key := f"problem.{name}.{value}"):
        return i18n.translate(lang, key)
    # (`limit` alone is pydantic's bound of a field: a number, not money.)
    if name != "limit" and name.endswith(("amount", "total", "limit")) and isinstance(value, int | float):
        return i18n.money(lang, value)
    if name.endswith(("_on", "date", "until")) and isinstance(value, str):
        return i18n.format_date(lang, value) or value
    if isinstance(value, int | float):
        return i18n.number(lang, value, 0 if float(value).is_integer() else 2)
    return str(value)


def say(lang: str, key: str, params: dict[str, Any]) -> str:
    """The catalogue's text for `key` with the params in the user's words (a param may be
    named `key`, as a 404's is, so not through `translate`'s keywords)."""
    text = i18n.CATALOGUES[i18n.language_or_default(lang)].get(key, key)
    try:
        return text.format(**{name: say_param(lang, name, v) for name, v in params.items()})
    except (KeyError, IndexError, ValueError):
        return text


def sentence(lang: str, status: int, code: str | None, params: dict[str, Any] | None) -> str:
    """A refusal as a whole: its code's sentence, or its status's."""
    if code and has_words(f"problem.{code}"):
        return say(lang, f"problem.{code}", params or {})
    if status == 503:
        return i18n.translate(lang, "problem.not_yet")
    if status >= 500:
        return i18n.translate(lang, "errors.unavailable")
    return i18n.translate(lang, _BY_STATUS.get(status, "errors.refused"))


def at_field(lang: str, item: dict[str, Any]) -> str:
    """One item of a 422's list, for the field it names."""
    kind = str(item.get("type", ""))
    ctx = {k: v for k, v in (item.get("ctx") or {}).items() if isinstance(v, str | int | float | list)}
    if has_words(f"problem.{kind}"):
        return say(lang, f"problem.{kind}", ctx)
    msg = str(item.get("msg", "")).lower()
    if kind == "value_error" and "email" in msg:
        return i18n.translate(lang, "err.value_error.email")
    if has_words(f"err.{kind}"):
        limit = next((ctx[k] for k in ("gt", "ge", "le", "lt", "min_length", "max_length") if k in ctx), "")
        return say(lang, f"err.{kind}", {**ctx, "limit": limit})
    return i18n.translate(lang, "err.value_error")


def row_note(lang: str, row: dict[str, Any]) -> str:
    """A rejected import row's problems (`problems: [{column, code, params, message}]`)
    in the user's words, `column: words; ...` (the words alone for the row as a whole,
    column "row"); a report stored before the rows carried codes has only its English
    `errors`, said as the generic sentence."""
    found = row.get("problems")
    if not found:
        return at_field(lang, {}) if row.get("errors") else ""
    said = []
    for problem in found:
        words = at_field(lang, {"type": problem.get("code"), "ctx": problem.get("params") or {}})
        column = problem.get("column")
        said.append(f"{column}: {words}" if column and column != "row" else words)
    return "; ".join(said)
