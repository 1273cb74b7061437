"""Region, FIPS and dual-stack settings to a KMS endpoint URL.

The answer comes from the KMS endpoint rule set and the partition table that botocore ships
(``botocore/data/kms/<version>/endpoint-rule-set-1.json.gz`` and ``botocore/data/partitions.json``),
so new Regions and partitions arrive with a botocore upgrade and never need a change here.

Why not simply call ``botocore.endpoint_provider.EndpointProvider``? Importing it costs about
100 ms (it pulls in ``botocore.utils`` and most of botocore), a hundred times the budget for
creating a client. The KMS rule set only uses a handful of the rule-language functions, so this
module evaluates it directly after reading the two data files (a few milliseconds at most,
once per process).
When a future rule set uses a function this small evaluator does not know, resolution falls back
to botocore's provider, so the result is always botocore's. A test compares both for every known
Region of every partition, with and without FIPS and dual-stack.

Results are cached per (Region, FIPS, dual-stack); the files are read once, under a lock.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from kms_mrk.errors._base import ConfigurationError

__all__ = ["normalize_fips_region", "resolve_endpoint", "validate_region"]

# A Region name must be a valid DNS label (the rule botocore applies before resolving); checked
# without a regex so that importing this module compiles none.
_REGION_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_REGION_RULE: Final = (
    "a Region name is 1 to 63 letters, digits and hyphens, does not start or end with a hyphen "
    "and is not only digits (for example 'us-east-1')"
)
_CACHE_LIMIT: Final = 1024

_cache: dict[tuple[str, bool, bool], str] = {}
_lock = threading.Lock()
_rules: _RuleSet | None = None


def validate_region(region: object, *, source: str | None = None) -> str:
    """Return ``region`` if it is a well-formed Region name, else raise ConfigurationError.

    ``source`` names where the value came from (``"AWS_REGION"``) for the message.
    """
    problem = region_problem(region)
    if problem is None and isinstance(region, str):
        return region
    what = f"{source}={region!r}" if source else f"Region {region!r}"
    raise ConfigurationError(f"{what} is not a valid Region name: {problem}")


def region_problem(region: object) -> str | None:
    """The rule ``region`` breaks as a Region name, or None when it is well formed."""
    if not isinstance(region, str):
        return "it must be a string"
    if (
        not 0 < len(region) <= 63
        or region[0] == "-"
        or region[-1] == "-"
        or region.isdigit()
        or not _REGION_CHARS.issuperset(region)
    ):
        return _REGION_RULE
    return None


def normalize_fips_region(region: str) -> tuple[str, bool]:
    """Split a legacy FIPS pseudo-Region into the real Region and a FIPS flag.

    ``us-east-1-fips`` and ``fips-us-gov-west-1`` name the FIPS endpoint of ``us-east-1`` and
    ``us-gov-west-1``; requests to them are signed for the real Region. botocore and the
    JavaScript SDK read them this way (removing ``fips-`` and ``-fips``); any other name is
    returned as it is, with ``False``.
    """
    if "fips" not in region:
        return region, False
    real = region.replace("fips-", "").replace("-fips", "")
    if real == region or not real:
        return region, False
    validate_region(real)
    return real, True


def resolve_endpoint(region: str, *, use_fips: bool = False, use_dualstack: bool = False) -> str:
    """Return the KMS endpoint URL for ``region``, e.g. ``https://kms.us-east-1.amazonaws.com``.

    ``use_fips`` selects the FIPS 140 endpoint, ``use_dualstack`` the IPv4+IPv6 one. Raises
    :class:`~kms_mrk.errors.ConfigurationError` for a malformed Region name or a combination
    the Region's partition does not offer.
    """
    if not isinstance(use_fips, bool):
        raise ConfigurationError(f"use_fips must be a bool, got {use_fips!r}")
    if not isinstance(use_dualstack, bool):
        raise ConfigurationError(f"use_dualstack must be a bool, got {use_dualstack!r}")
    key = (region, use_fips, use_dualstack)
    url = _cache.get(key) if isinstance(region, str) else None
    if url is not None:
        return url
    validate_region(region)
    with _lock:
        url = _cache.get(key)
        if url is None:
            url = _evaluate(region, use_fips, use_dualstack)
            if len(_cache) < _CACHE_LIMIT:
                _cache[key] = url
    return url


def _clear_cache() -> None:
    """Forget cached URLs and the loaded rule set (for tests)."""
    global _rules
    with _lock:
        _cache.clear()
        _rules = None


def _evaluate(region: str, use_fips: bool, use_dualstack: bool) -> str:
    """Resolve without the cache. Called with ``_lock`` held."""
    global _rules
    if _rules is None:
        ruleset, partitions = _load_botocore_data()
        _rules = _RuleSet(ruleset, partitions)
    try:
        return _rules.resolve(region, use_fips=use_fips, use_dualstack=use_dualstack)
    except _RuleError as exc:
        raise ConfigurationError(
            f"No KMS endpoint for Region {region!r} with use_fips={use_fips} and "
            f"use_dualstack={use_dualstack}: {exc}"
        ) from None


# --------------------------------------------------------------------------------------------
# botocore's data files
# --------------------------------------------------------------------------------------------


def _botocore_data_dir() -> str:
    import importlib.util
    import os

    spec = importlib.util.find_spec("botocore")  # locates the package without importing it
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = os.path.join(location, "data")
        if os.path.isdir(candidate):
            return candidate
    raise ConfigurationError(
        "botocore's data files were not found; kms-mrk needs botocore installed to resolve "
        "endpoints (or pass an endpoint URL)"
    )


def _read_json(path: str) -> Any:
    import json

    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        import zlib

        data = zlib.decompress(data, wbits=31)  # gzip framing; avoids importing gzip
    return json.loads(data)


def _load_botocore_data() -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (KMS endpoint rule set, partitions) from botocore's newest KMS API version."""
    import os

    data_dir = _botocore_data_dir()
    kms_dir = os.path.join(data_dir, "kms")
    for version in sorted(os.listdir(kms_dir), reverse=True):
        for name in ("endpoint-rule-set-1.json.gz", "endpoint-rule-set-1.json"):
            path = os.path.join(kms_dir, version, name)
            if os.path.isfile(path):
                return _read_json(path), _read_json(os.path.join(data_dir, "partitions.json"))
    raise ConfigurationError(f"No KMS endpoint rule set found under {kms_dir}")


# --------------------------------------------------------------------------------------------
# A small evaluator for the endpoint rule language (the subset the KMS rule set uses)
# --------------------------------------------------------------------------------------------


class _RuleError(Exception):
    """An error rule matched, or no rule matched."""


_TEMPLATE: Final = r"\{([a-zA-Z#]+)\}"
_GETATTR_INDEX: Final = r"(\w*)\[(\d+)\]"
_HOST_LABEL: Final = r"(?!-)[a-zA-Z\d-]{1,63}(?<!-)"
_BUILTINS: Final = {
    "AWS::Region": "region",
    "AWS::UseFIPS": "use_fips",
    "AWS::UseDualStack": "use_dualstack",
}


class _RuleSet:
    """Evaluates an endpoint rule set the way botocore's ``EndpointProvider`` does."""

    def __init__(self, ruleset: Mapping[str, Any], partitions: Mapping[str, Any]) -> None:
        self._ruleset = ruleset
        self._partition_data = partitions
        self._partitions: Sequence[Mapping[str, Any]] = partitions["partitions"]
        self._rules: Sequence[Mapping[str, Any]] = ruleset["rules"]
        self._params: Mapping[str, Mapping[str, Any]] = ruleset["parameters"]
        self._functions: dict[str, Callable[..., Any]] = {
            "isSet": lambda value: value is not None,
            "not": lambda value: not value,
            "booleanEquals": _boolean_equals,
            "stringEquals": _string_equals,
            "getAttr": _get_attr,
            "aws.partition": self._partition,
            "isValidHostLabel": _is_valid_host_label,
        }
        self._regexes: dict[int, re.Pattern[str]] = {}  # compiled on first use
        self._fallback: Any = None
        self.native = _uses_only(ruleset, set(self._functions))

    def resolve(self, region: str, *, use_fips: bool, use_dualstack: bool) -> str:
        values = {"region": region, "use_fips": use_fips, "use_dualstack": use_dualstack}
        params: dict[str, Any] = {}
        for name, spec in self._params.items():
            builtin = _BUILTINS.get(spec.get("builtIn", ""))
            params[name] = values[builtin] if builtin else spec.get("default")
        if not self.native:
            return self._resolve_with_botocore(params)
        url = self._evaluate_rules(self._rules, params)
        if url is None:
            raise _RuleError("no endpoint rule matched")
        return url

    def _resolve_with_botocore(self, params: dict[str, Any]) -> str:
        from botocore.endpoint_provider import EndpointProvider
        from botocore.exceptions import EndpointResolutionError

        if self._fallback is None:
            self._fallback = EndpointProvider(
                ruleset_data=self._ruleset, partition_data=self._partition_data
            )
        try:
            given = {k: v for k, v in params.items() if v is not None}
            return str(self._fallback.resolve_endpoint(**given).url)
        except EndpointResolutionError as exc:
            raise _RuleError(str(exc)) from None

    def _evaluate_rules(
        self, rules: Sequence[Mapping[str, Any]], scope: dict[str, Any]
    ) -> str | None:
        for rule in rules:
            local = dict(scope)  # assignments never leak to sibling rules
            if not all(self._condition(c, local) for c in rule.get("conditions", ())):
                continue
            kind = rule["type"]
            if kind == "endpoint":
                return str(self._value(rule["endpoint"]["url"], local))
            if kind == "error":
                raise _RuleError(str(self._value(rule["error"], local)))
            found = self._evaluate_rules(rule["rules"], local)
            if found is not None:
                return found
        return None

    def _condition(self, condition: Mapping[str, Any], scope: dict[str, Any]) -> bool:
        result = self._call(condition, scope)
        assign = condition.get("assign")
        if assign is not None:
            if assign in scope:
                raise _RuleError(f"the rule set assigns {assign!r} twice")
            scope[assign] = result
        return result is not None and result is not False

    def _call(self, call: Mapping[str, Any], scope: Mapping[str, Any]) -> Any:
        args = [self._value(arg, scope) for arg in call["argv"]]
        return self._functions[call["fn"]](*args)

    def _value(self, value: Any, scope: Mapping[str, Any]) -> Any:
        if isinstance(value, dict):
            if "fn" in value:
                return self._call(value, scope)
            if "ref" in value:
                return scope.get(value["ref"])
        if isinstance(value, str) and "{" in value:
            return re.sub(_TEMPLATE, lambda m: str(_template_value(m.group(1), scope)), value)
        return value

    def _regex(self, index: int) -> re.Pattern[str]:
        regex = self._regexes.get(index)
        if regex is None:
            regex = self._regexes[index] = re.compile(self._partitions[index]["regionRegex"])
        return regex

    def _partition(self, region: str | None) -> dict[str, Any]:
        chosen = self._partitions[0]  # botocore's default when nothing matches
        if region is not None:
            for i, partition in enumerate(self._partitions):
                if region in partition["regions"] or self._regex(i).match(region):
                    chosen = partition
                    break
        return {**chosen["outputs"], "name": chosen["id"]}


def _template_value(reference: str, scope: Mapping[str, Any]) -> Any:
    value: Any = scope
    for part in reference.split("#"):
        value = value[part]
    return value


def _boolean_equals(a: Any, b: Any) -> bool:
    if not isinstance(a, bool) or not isinstance(b, bool):
        raise _RuleError(f"booleanEquals needs two booleans, got {a!r} and {b!r}")
    return a is b


def _string_equals(a: Any, b: Any) -> bool:
    if not isinstance(a, str) or not isinstance(b, str):
        raise _RuleError(f"stringEquals needs two strings, got {a!r} and {b!r}")
    return a == b


def _get_attr(value: Any, path: str) -> Any:
    for part in path.split("."):
        match = re.search(_GETATTR_INDEX, part)
        if match is None:
            value = value[part]
            continue
        name, index = match.group(1), int(match.group(2))
        if name:
            value = value.get(name)
        if value is None or index >= len(value):
            return None
        return value[index]
    return value


def _is_valid_host_label(value: Any, allow_subdomains: bool) -> bool:
    if value is None or (allow_subdomains is False and "." in value):
        return False
    if allow_subdomains is True:
        return all(_is_valid_host_label(label, False) for label in value.split("."))
    return re.fullmatch(_HOST_LABEL, value) is not None


def _uses_only(node: Any, functions: set[str]) -> bool:
    """True when every function call in ``node`` is one of ``functions`` and every template
    is a plain ``{name}``/``{name#attr}`` reference."""
    if isinstance(node, dict):
        if "fn" in node and node["fn"] not in functions:
            return False
        return all(_uses_only(v, functions) for v in node.values())
    if isinstance(node, list):
        return all(_uses_only(v, functions) for v in node)
    if isinstance(node, str):
        return "{{" not in node and "}}" not in node
    return True
