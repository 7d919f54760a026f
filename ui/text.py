"""Showing user and model text as data: visible whitespace, HTML-escaped chart labels, inert markdown."""

from __future__ import annotations

import html
import re

SPACE = "␣"
_VISIBLE = {" ": SPACE, "\t": "⇥", "\n": "↵", "\r": "↵", "\u00a0": "⍽"}
UNKNOWN_MARK = "†"  # appended to chart labels of tokens the model never saw in training

# CommonMark lets any ASCII punctuation be backslash-escaped; Streamlit adds $…$ (LaTeX), :emoji: and :color[…].
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def display_token(token: str) -> str:
    """A token as people should see it: whitespace made visible, never an empty string."""
    if token == "":
        return "∅"
    return "".join(_VISIBLE.get(ch, ch) for ch in token)


def chart_label(token: str, unknown: bool = False) -> str:
    """A token ready for a plotly tick label, hover text or annotation (plotly renders a subset of HTML)."""
    text = html.escape(display_token(token), quote=False).replace("$", "&#36;")  # "$…$" would be MathJax
    return text + UNKNOWN_MARK if unknown else text


def chart_labels(tokens: list[str], unknown: list[int] | None = None) -> list[str]:
    marked = set(unknown or ())
    return [chart_label(tok, i in marked) for i, tok in enumerate(tokens)]


def md_escape(text: str) -> str:
    """Text that Streamlit's markdown shows literally: no HTML, emphasis, LaTeX, links, emoji or colour codes."""
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", display_newlines(text))
    # ":smile:" and ":red[x]" are expanded after escapes are resolved; an invisible word joiner after a ":" that
    # touches the next character stops that (": " cannot start a shortcode and stays as it is).
    return re.sub(r"\\:(?=\S)", "\\:\u2060", escaped)


def display_newlines(text: str) -> str:
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


NAMED_TOKENS = 5  # tokens a sentence names before "and N more": a long list would push the page down


def quoted(tokens: list[str], limit: int = NAMED_TOKENS) -> str:
    """Tokens listed for a sentence, e.g. «é», «ß» and 3 more (markdown-escaped; at most `limit` named)."""
    named = ", ".join(f"«{md_escape(display_token(tok))}»" for tok in tokens[:limit])
    return named + (f" and {len(tokens) - limit} more" if len(tokens) > limit else "")
