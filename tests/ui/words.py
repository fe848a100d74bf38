"""What a page says for a refusal's code, as a pattern a browser test can expect.

A refusal's sentence is the catalogue's `problem.<code>` with its params said in the
user's words (`gateway.ui.problems`); a test that knows the code but not how each param
is formatted (money, a date, a name) expects the sentence's fixed words, in order.
"""

from __future__ import annotations

import re

from gateway.ui import i18n


def said(lang: str, code: str) -> re.Pattern[str]:
    """`problem.<code>`'s sentence in `lang`, each `{param}` standing for any text."""
    text = i18n.CATALOGUES[i18n.language_or_default(lang)][f"problem.{code}"]
    return re.compile(".+?".join(re.escape(part) for part in re.split(r"\{\w+\}", text)))
