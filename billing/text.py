"""Text from outside (tenant and user names, ids, file names) made safe to show: in a PDF, a terminal, Markdown."""
from __future__ import annotations

import re

# Bidirectional formatting characters (Unicode UAX #9): embeddings, overrides, isolates and the marks. A
# right-to-left override in a name shows "evil" as "live"; without them, letters keep their own direction.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# C0 and C1 controls, newline and tab included: shown text is one line.
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
# CommonMark lets every ASCII punctuation character be escaped with a backslash, and then shows it as it is.
MARKDOWN_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def display_text(value: object) -> str:
    """`value` as one line that shows what it holds: bidirectional controls removed, other controls as spaces."""
    return CONTROLS.sub(" ", BIDI_CONTROLS.sub("", str(value)))


def markdown_text(value: object) -> str:
    """`value` shown literally by a Markdown renderer, in a table cell too: no link, emphasis, HTML or column break."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", display_text(value))
