"""The argument checks every layer shares: one message per kind of mistake.

Each check raises a ``ValueError`` that names the argument (``name``, which
callers prefix with their class where the message would otherwise not say
where the value came from), what it must be and the value given, and returns
the value in its normalised form where there is one.
"""
import math
from typing import Optional, Sequence, Tuple


def check_choice(name: str, value, allowed: Sequence):
    """``value`` if it is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(
            f'{name} must be one of {tuple(allowed)}, got {value!r}')
    return value


def check_int(name: str,
              value,
              low: int,
              high: Optional[int] = None,
              kind: str = 'an integer') -> int:
    """``value`` if it is an int (not a bool) in ``[low, high]``."""
    if (isinstance(value, bool) or not isinstance(value, int) or value < low
            or (high is not None and value > high)):
        expected = (f'{kind} >= {low}'
                    if high is None else f'{kind} in [{low}, {high}]')
        raise ValueError(f'{name} must be {expected}, got {value!r}')
    return value


def _is_number(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float))
            and math.isfinite(value))


def check_number(name: str, value, low: float, low_open: bool) -> float:
    """``value`` as a float if it is a finite number above ``low``
    (``low_open``) or at least ``low``."""
    if not (_is_number(value) and (value > low if low_open else value >= low)):
        relation = '>' if low_open else '>='
        raise ValueError(f'{name} must be a finite number {relation} {low}, '
                         f'got {value!r}')
    return float(value)


def check_channel_values(name: str, values,
                         positive: bool) -> Tuple[float, ...]:
    """``values`` as floats if they are a non-empty sequence of finite
    (``positive``: positive) numbers, one per channel."""
    if isinstance(values, (str, bytes)) or not isinstance(
            values, Sequence) or not values or not all(
                _is_number(v) and (v > 0 or not positive) for v in values):
        expected = 'positive' if positive else 'finite'
        raise ValueError(f'{name} must be a non-empty sequence of '
                         f'{expected} numbers (one per channel), got '
                         f'{values!r}')
    return tuple(float(v) for v in values)


def check_range(name: str, value, low_limit: float) -> Tuple[float, float]:
    """``value`` as a ``(low, high)`` pair of floats with
    ``low_limit <= low <= high``."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a (low, high) pair of numbers, got '
                         f'{value!r}') from None
    if not low_limit <= low <= high:
        raise ValueError(f'{name} must satisfy {low_limit} <= low <= high, '
                         f'got {value!r}')
    return low, high
