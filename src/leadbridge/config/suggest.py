""" "Did you mean": the nearest name or value a config file could have meant.

Spelling is compared loosely (case, `_`, `-` and spaces do not count), so
`closed_lost` finds Salesforce's `Closed Lost`; difflib then ranks what is
close. Words people carry over from other tools (`gt`, `greater_than`,
`contains`) are mapped to our operator outright, since no spelling distance
finds `gte` from `greater_than`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

# Operators of other rule languages (SQL, JSON Logic, Salesforce filters), by what they mean here.
OPERATOR_SYNONYMS: Mapping[str, str] = {
    "gt": "gte",
    "ge": "gte",
    "greater_than": "gte",
    "greater_or_equal": "gte",
    "at_least": "gte",
    "min": "gte",
    "lt": "lte",
    "le": "lte",
    "less_than": "lte",
    "less_or_equal": "lte",
    "at_most": "lte",
    "max": "lte",
    "equals": "eq",
    "equal": "eq",
    "is": "eq",
    "one_of": "in",
    "any_of": "in",
    "in_list": "in",
    "ne": "not",
    "not_eq": "not",
    "exists": "present",
    "is_set": "present",
    "has": "present",
    "missing": "absent",
    "blank": "absent",
    "empty": "absent",
    "and": "all",
    "or": "any",
    "became": "changed_to",
    "changed": "changed_to",
    "changes_to": "changed_to",
    "older": "older_than",
    "age": "older_than",
    "domain": "domain_in",
    "domains": "domain_in",
    "email_domain": "domain_in",
}

_SEPARATORS = re.compile(r"[\s_\-]+")


def loose(text: str) -> str:
    """The spelling that counts: lower case, one space for any run of `_`, `-` and spaces."""
    return _SEPARATORS.sub(" ", text.casefold()).strip()


def nearest(word: str, known: Iterable[str] | Mapping[str, str]) -> str | None:
    """The known name `word` most likely meant, or None.

    `known` may map spellings to what they stand for (a Salesforce spelling to its
    canonical code): a match on the spelling suggests what it stands for.
    """
    meant = dict(known) if isinstance(known, Mapping) else {name: name for name in known}
    by_loose: dict[str, str] = {}
    for spelling, target in meant.items():
        by_loose.setdefault(loose(spelling), target)
    wanted = loose(word)
    if wanted in by_loose:
        return by_loose[wanted]
    close = difflib.get_close_matches(wanted, list(by_loose), n=1, cutoff=0.6)
    return by_loose[close[0]] if close else None


def nearest_operator(word: str, operators: Iterable[str]) -> str | None:
    known = list(operators)
    synonym = OPERATOR_SYNONYMS.get(loose(word).replace(" ", "_"))
    if synonym in known:
        return synonym
    return nearest(word, known)


def did_you_mean(word: str, known: Iterable[str] | Mapping[str, str]) -> str:
    """ "; did you mean 'x'?" or "" when nothing is close."""
    found = nearest(word, known)
    return f"; did you mean {found!r}?" if found is not None and found != word else ""
