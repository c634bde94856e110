"""Amounts in Chinese capital numerals (大写), as cheques and certificates have them."""

from __future__ import annotations

from decimal import Decimal

from engine.money import round_half_up

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
# Each group of four digits ends with one of these, counted from the right.
GROUP_UNITS = ("", "万", "亿", "万亿")


def amount_in_capitals(amount: Decimal) -> str:
    """Write a yuan amount in capitals, rounded half-up to fen.

    It follows the usual rules of Chinese financial documents. One 零 stands for a
    run of zeros inside the number, 整 follows an amount that ends at 元 or 角, and a
    leading ten is written 壹拾. Negative amounts start with 负.
    """
    fen_total = int(round_half_up(abs(amount), 2) * 100)
    yuan, cents = divmod(fen_total, 100)
    jiao, fen = divmod(cents, 10)
    sign = "负" if amount < 0 and fen_total else ""
    if fen_total == 0:
        return "零元整"

    text = _integer(yuan) + "元" if yuan else ""
    if jiao:
        text += DIGITS[jiao] + "角"
    elif fen and yuan:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    else:
        text += "整"
    return sign + text


def _integer(number: int) -> str:
    groups = []
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    if len(groups) > len(GROUP_UNITS):
        raise ValueError("amounts of 10^16 yuan or more cannot be written in capitals")
    text = ""
    skipped_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            skipped_zero = bool(text)
            continue
        # A group after a written one needs 零 when zeros stand between them.
        if text and (skipped_zero or group < 1000):
            text += "零"
        text += _group(group) + GROUP_UNITS[index]
        skipped_zero = False
    return text


def _group(group: int) -> str:
    """Write 1 to 9999. The caller writes any 零 that stands before the group."""
    text = ""
    zero_pending = False
    for position in (3, 2, 1, 0):
        digit = group // 10**position % 10
        if digit == 0:
            zero_pending = bool(text)
            continue
        if zero_pending:
            text += "零"
            zero_pending = False
        text += DIGITS[digit] + SMALL_UNITS[position]
    return text
