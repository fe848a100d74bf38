"""An amount of money in words, as a Vietnamese document writes it under its total
("Một tỷ một trăm triệu đồng"), or in English for an English copy.

Vietnamese rules: groups of three digits read with "trăm", "mươi"/"mười" and the scale
words "nghìn", "triệu", "tỷ" (a thousand billion is "nghìn tỷ"); a group after a higher
one always says its hundreds, even "không trăm"; a lone unit after a zero ten is read
with "linh"; after a ten of twenty or more, 1 is "mốt"; after any ten, 5 is "lăm".
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["vi", "en"]

_VI_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_VI_SCALES = ("", "nghìn", "triệu")
_BILLION = 1_000_000_000


def _vi_group(n: int, full: bool) -> list[str]:
    """One group of three digits (1..999); `full` when a higher group was read before it."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [_VI_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units and words:
            words += ["linh", _VI_DIGITS[units]]
        elif units:
            words.append(_VI_DIGITS[units])
        return words
    words += ["mười"] if tens == 1 else [_VI_DIGITS[tens], "mươi"]
    if units == 1 and tens > 1:
        words.append("mốt")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(_VI_DIGITS[units])
    return words


def _vi_below_billion(n: int, full: bool) -> list[str]:
    words: list[str] = []
    for scale in (2, 1, 0):
        group = n // 1000**scale % 1000
        if group:
            words += _vi_group(group, full or bool(words))
            if _VI_SCALES[scale]:
                words.append(_VI_SCALES[scale])
    return words


def _vi_words(n: int, full: bool = False) -> list[str]:
    if n >= _BILLION:
        head, tail = divmod(n, _BILLION)
        return [*_vi_words(head, full), "tỷ", *(_vi_below_billion(tail, True) if tail else [])]
    return _vi_below_billion(n, full)


_EN_SMALL = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_EN_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion")


def _en_group(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [_EN_SMALL[hundreds], "hundred"] if hundreds else []
    if rest >= 20:
        tens, units = divmod(rest, 10)
        words.append(_EN_TENS[tens] + (f"-{_EN_SMALL[units]}" if units else ""))
    elif rest:
        words.append(_EN_SMALL[rest])
    return words


def _en_words(n: int) -> list[str]:
    words: list[str] = []
    for scale in range(len(_EN_SCALES) - 1, -1, -1):
        group = n // 1000**scale % 1000
        if group:
            words += _en_group(group) + ([_EN_SCALES[scale]] if _EN_SCALES[scale] else [])
    return words


def amount_in_words(amount: int, lang: Lang = "vi", currency: str = "VND") -> str:
    """`1_100_000_000` -> "Một tỷ một trăm triệu đồng" (vi) / "One billion one hundred
    million dong" (en). Whole units only (VND has no minor unit); a negative amount is
    read with "Âm"/"Minus" in front."""
    if not isinstance(amount, int) or amount >= 1000 ** len(_EN_SCALES):
        raise ValueError(f"cannot read {amount!r} as a whole amount")
    unit = _unit(currency, lang)
    magnitude = abs(amount)
    if lang == "vi":
        words = _vi_words(magnitude) if magnitude else ["không"]
        sign = ["âm"] if amount < 0 else []
    else:
        words = _en_words(magnitude) if magnitude else ["zero"]
        sign = ["minus"] if amount < 0 else []
    text = " ".join([*sign, *words, unit])
    return text[0].upper() + text[1:]


def _unit(currency: str, lang: Lang) -> str:
    if currency == "VND":
        return "đồng" if lang == "vi" else "dong"
    return currency
