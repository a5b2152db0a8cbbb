"""The query language's grammar (GitHub-search style), read by lark.

Space = AND, `key:a,b` = OR, a leading `-` = NOT, quoted phrases, `#42` for a number.
Values are kept as text here; `parser.py` gives them meaning.
"""

from __future__ import annotations

GRAMMAR = r"""
start: _WS? (term (_WS term)*)? _WS?

term: NEG? (pair | number | phrase | word)

pair: KEY value ("," value)*
value: OP? (QUOTED | MENTION | VALUE)
number: NUMBER
phrase: QUOTED
word: WORD

NEG.5: "-"
KEY.4: /[A-Za-z][A-Za-z_-]*:/
NUMBER.3: /#[0-9]+(?=\s|$)/
MENTION.3: /<@[A-Za-z0-9]+(\|[^>]*)?>/
OP.2: />=|<=|>|<|=/
QUOTED.2: /"[^"]*"/
VALUE: /[^\s,"]+/
WORD: /[^\s"]+/
_WS: /\s+/
"""
