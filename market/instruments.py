"""What kind of instrument a code is, from its code and its name alone.

Both exchanges' daily feeds carry far more than common stocks (a TWSE day: ETFs, ETNs, TDRs, REITs and
preferred shares; a TPEx day: about 11,000 warrants). The exchanges' numbering rules decide the type;
the name only settles the two cases the code cannot (a four-digit TDR, a lettered preferred share).
The rules, first match wins (tested against a whole real TWSE day in tests/market/test_instruments.py):

1. Warrant: six characters starting 03-08 (TWSE) or 7 (TPEx): six digits for calls, five digits and a letter
   for puts and the other kinds (``P``, ``F``, ``Q``, ``C``, ``B``, ``X``, ``Y``): ``030001``, ``03001P``,
   ``712345``, ``71234P``. (Four-digit codes starting 7 are common stocks.)
2. ETN: six characters starting ``02`` (``020000``, ``02001L``).
3. REIT: ``01`` + three digits + ``T`` (``01001T``).
4. ETF: starting ``00``: ``0050``, ``00878``, ``006208``, and lettered variants (``00632R`` inverse,
   ``00631L`` leveraged, ``00679B`` bond, ``00625K``, ``00635U`` futures, ``00400A``/``00982D`` active,
   ``00981T`` balanced).
5. TDR (depositary receipt of a foreign company): six digits starting ``91`` (``910322``), or four
   digits with a name ending ``-DR`` (``9103 美德醫療-DR``).
6. Preferred share: four digits, a letter and an optional digit, with 特 in the name (``2881A 富邦特``,
   ``1101B 台泥乙特``, ``2887Z1 台新新光己特``).
7. Common stock: four digits starting 1-9 (``2330``; ``-KY`` foreign listings and ``-創`` innovation-board
   companies are common stocks too).
8. Anything else is "other" and never stored unless a setting asks for it.
"""

from __future__ import annotations

import re

from market.models import InstrumentType

_WARRANT = re.compile(r"^(0[3-8]\d{4}|0[3-8]\d{3}[A-Z]|7\d{5}|7\d{4}[A-Z])$")
_ETN = re.compile(r"^02\d{3}[0-9A-Z]$")
_REIT = re.compile(r"^01\d{3}T$")
_ETF = re.compile(r"^00\d{2,4}[A-Z]?$")
_TDR_CODE = re.compile(r"^91\d{4}$")
_FOUR_DIGITS = re.compile(r"^[1-9]\d{3}$")
_PREFERRED = re.compile(r"^[1-9]\d{3}[A-Z]\d?$")


def instrument_type_of(code: str, name: str = "") -> InstrumentType:
    """The instrument type of ``code`` (with ``name`` for the cases the code cannot settle)."""
    code = code.strip().upper()
    name = name.strip()
    if _WARRANT.match(code):
        return InstrumentType.WARRANT
    if _ETN.match(code):
        return InstrumentType.ETN
    if _REIT.match(code):
        return InstrumentType.REIT
    if _ETF.match(code):
        return InstrumentType.ETF
    if _TDR_CODE.match(code) or (_FOUR_DIGITS.match(code) and name.upper().endswith("-DR")):
        return InstrumentType.TDR
    if _PREFERRED.match(code) and "特" in name:
        return InstrumentType.PREFERRED
    if _FOUR_DIGITS.match(code):
        return InstrumentType.COMMON
    return InstrumentType.OTHER
