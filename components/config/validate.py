"""Building blocks of config validation: the error every bad config raises, the list of problems
it collects, and checks shared by every part of the parser (types, unknown fields, CIDRs).

Every check adds to `Problems` and goes on, so one run reports every problem at once; messages
name the key path and say what would be right.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pulumi

from components.config.keys import CLUSTER_KEYS, MESH_KEYS
from components.model.spec import PROJECT

# A config value is JSON, whose numbers Python reads whole; a message quoting one past 4300 digits
# would raise instead of reporting it (sys.int_info.default_max_str_digits). Values are bounded
# where it matters (`shown` never prints a huge number in full).
sys.set_int_max_str_digits(0)

# Config keys outside this project's namespace (e.g. `aws:region`) are named as they are.
_NAMESPACED = re.compile(r"^[a-z][a-z0-9-]*:")
# How much of a user's value a message shows: enough to recognise it, never a whole blob.
MAX_SHOWN = 80
# Problems of one key shown in full (list items counted together: `apiAccessCidrs[*]`); the rest are
# counted in one line. And no line longer than this.
MAX_PER_KEY = 3
MAX_LINE = 600
# Lines one error shows at the most, so that a config gone wrong everywhere still reads in a screen.
MAX_LINES = 40
_INDEX = re.compile(r"\[[0-9]+\]")
# What differs between problems alike: the values they quote and the numbers they name.
# Shorter secret texts are left alone: withholding "true" or "2Gi" would garble every message.
_SECRET_MIN = 6
_TOP_KEY = re.compile(r"[^.\[]*")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')
_VALUES = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[0-9]+')


def one_line(text: str) -> str:
    """`text` with every character a terminal would not print as itself escaped (a newline in a
    key must not split a message), cut to MAX_LINE."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 30] + f"... ({len(text)} characters)"


def _family(path: str) -> tuple[str, str]:
    """The path with list indices folded (`clusters[*].name`), and its parent: map entries alike
    (`ipamPools.us-east-1`, `ipamPools.eu-west-1`) share the parent `ipamPools`."""
    folded = _INDEX.sub("[*]", path)
    parent, dot, _ = folded.rpartition(".")
    if not dot and "[" not in folded and not _NAMESPACED.match(folded):
        return folded, ""  # top-level keys alike (unknown ones) share the root
    return folded, parent if dot else folded


def _bounded(problems: list[tuple[str, str]]) -> list[str]:
    """One line per problem; problems alike collapsed past MAX_PER_KEY, and no more than MAX_LINES in
    all. Alike: the same key (list items folded, `clusters[*].name`) and the same message but for the
    values it quotes; and entries of one map (`ipamPools.<region>`) where more than MAX_PER_KEY keys
    of it say the same."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for path, message in problems:
        groups.setdefault((_family(path)[0], _VALUES.sub("_", message)), []).append((path, message))
    # Many keys of one parent with one message: the entries of a map, folded into one group.
    by_parent: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for folded, shape in groups:
        key = folded.rpartition(".")[2]
        by_parent.setdefault((_family(folded)[1], shape.replace(key, "_")), []).append((folded, shape))
    merged: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for (parent, shape), members in by_parent.items():
        if len(members) > MAX_PER_KEY:
            merged[(f"{parent}.*" if parent else "*", shape)] = [p for m in members for p in groups[m]]
        else:
            merged.update({m: groups[m] for m in members})
    position = {p: i for i, p in reversed(list(enumerate(problems)))}
    lines = []
    for (family, _), members in sorted(merged.items(), key=lambda g: position[g[1][0]]):
        for path, message in members[:MAX_PER_KEY]:
            lines.append(one_line(f"  - {_qualified(path)}: {message}"))
        if len(members) > MAX_PER_KEY:
            lines.append(one_line(f"  - {_qualified(family)}: and {len(members) - MAX_PER_KEY} more like these"))
    if len(lines) > MAX_LINES:
        lines[MAX_LINES - 1 :] = [f"  - and {len(lines) - MAX_LINES + 1} more problems; fix these first"]
    return lines


def _qualified(path: str) -> str:
    return path if _NAMESPACED.match(path) else f"{PROJECT}:{path}"


class ConfigError(pulumi.RunError):
    """Invalid stack configuration. A RunError, so Pulumi prints the message without a traceback."""

    # (config key path, what is wrong and how to fix it), in the order found.
    problems: list[tuple[str, str]]

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(
            f"invalid stack configuration ({count}); nothing was created:\n"
            + "\n".join(_bounded(problems))
            + "\nFix the keys with `pulumi config set --path '<key>' <value>` or edit"
            " Pulumi.<stack>.yaml (see docs/reference/config.md)."
        )


class Problems:
    """Every problem found in one pass over the config, each once.

    `secret_keys`: the top-level keys stored with `--secret`. No message shows their values: under
    such a key every quoted value is withheld, and their texts are withheld from every message. Nor
    the keys of their maps: those are withheld from the paths and messages under the key.
    """

    items: list[tuple[str, str]]

    def __init__(self, secret_keys: frozenset[str] = frozenset(), raw: Mapping[str, Any] | None = None) -> None:
        self.items = []
        self._seen: set[tuple[str, str]] = set()
        self._secret_keys = secret_keys
        texts = {t for key in secret_keys for t in _texts((raw or {}).get(key)) if len(t) >= _SECRET_MIN}
        self._secret_texts = sorted({form for t in texts for form in _spellings(t)}, key=len, reverse=True)
        self._raw = raw or {}
        self._entries: dict[int, dict[str, tuple[int, Any]]] = {}  # per secret map: key text -> place, key
        # The map keys of each secret value, at every depth, withheld from that key's messages.
        self._names = {key: names - FIELD_NAMES for key in secret_keys if (names := _map_keys(self._raw.get(key)))}

    def add(self, path: str, message: str) -> None:
        # Alike once withheld is not the same problem: two secret entries each keep their line.
        if (path, message) not in self._seen:
            self._seen.add((path, message))
            self.items.append((self._withheld_path(path), self._withheld(path, message)))

    def _withheld(self, path: str, message: str) -> str:
        for text in self._secret_texts:
            message = message.replace(text, "(secret)")
        top = _TOP_KEY.match(path)[0]
        if top in self._secret_keys:
            message = _QUOTED.sub("(secret)", message)
            names = self._names.get(top)
            if names:
                message = _NAME_TOKEN.sub(lambda m: _hidden_token(m[0], names), message)
        return message

    def _withheld_path(self, path: str) -> str:
        """Under a secret key, each map key the user chose is withheld from the path: the keys of a
        secret map are part of the secret (a region, a tag key, a typo). The schema's own field names
        and list positions stay, and a withheld key is named by its place in its map instead
        (`metricsWorkspaces.(secret entry 2)`), so that problems of two entries stay two."""
        top = _TOP_KEY.match(path)[0]
        if top not in self._secret_keys or path == top:
            return path
        return top + _withheld_rest(self._raw.get(top), path[len(top) :], self._entries)


def _field_names() -> frozenset[str]:
    """The schema's own field names (`clusters`, `nodeGroup`, `certPem`, `tags`): no secret, so paths
    and messages under a secret key keep them. The reference's rows name them all (keys.py), and
    these, which only their parsers name."""
    rows = " ".join(k.key for k in (*MESH_KEYS, *CLUSTER_KEYS))
    extra = ("tags", "from", "to", "roleArn", "externalId", "sessionName", "duration", "policyArns")
    return frozenset(re.findall(r"[A-Za-z][A-Za-z0-9-]*", rows)) | frozenset(extra)


FIELD_NAMES = _field_names()


# Words of a message that may be a map key: one token of name characters (`us-east-1`, `a.b/c`).
_NAME_TOKEN = re.compile(r"[\w.:/@+=-]+")
# Keys of one or two characters say next to nothing, and withholding them would garble the words of
# every message ("a", "to"): they stay.
_SHORTEST_PART = 3


def _map_keys(value: Any) -> frozenset[str]:
    """Every map key inside a config value, as text."""
    found: set[str] = set()
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            found.update(str(k) for k in item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return frozenset(found)


def _hidden_token(token: str, names: frozenset[str]) -> str:
    """`token` with any secret name in it withheld: whole, or as a dotted or slashed part."""
    if token in names and len(token) >= _SHORTEST_PART:
        return "(secret)"
    if (bare := token.rstrip(".:")) in names and len(bare) >= _SHORTEST_PART:
        return "(secret)" + token[len(bare) :]
    parts = re.split(r"([.:/])", token)
    if any(p in names and len(p) >= _SHORTEST_PART for p in parts):
        return "".join("(secret)" if p in names and len(p) >= _SHORTEST_PART else p for p in parts)
    return token


# One step of a path: `[2]`, `["key"]` or `.key` (a key may hold dots: the longest key of the map wins).
_INDEX_STEP = re.compile(r"\[([0-9]+)\]")
_QUOTED_STEP = re.compile(r'\["((?:[^"\\]|\\.)*)"\]')


def _withheld_rest(value: Any, rest: str, entries: dict[int, dict[str, tuple[int, Any]]]) -> str:
    """`rest` (`.key["key"][2].key`, the path under a secret key) with every key that is not a field
    name of the schema replaced by its place in its map, as far as `value` holds the path; past that
    (a key the program adds, not the user), what is not a field name is withheld whole."""
    shown = ""
    while rest:
        if m := _INDEX_STEP.match(rest):
            shown += m[0]
            value = value[int(m[1])] if isinstance(value, list) and int(m[1]) < len(value) else None
            rest = rest[m.end() :]
            continue
        if m := _QUOTED_STEP.match(rest):
            text, rest = m[1], rest[m.end() :]
        elif rest.startswith("."):
            keys = _entries_of(value, entries)
            cut = next((c for c in _cuts(rest[1:]) if rest[1 : c + 1] in keys), None)
            if cut is None:
                tail = rest[1:]
                return shown + (
                    "." + tail if all(w in FIELD_NAMES for w in re.split(r"[.\[\]]+", tail) if w) else ".(withheld)"
                )
            text, rest = rest[1 : cut + 1], rest[cut + 1 :]
        else:
            return shown + ".(withheld)"
        number, key = _entries_of(value, entries).get(text, (None, None))
        shown += f".{text}" if text in FIELD_NAMES else f".(secret entry {number})" if number else ".(withheld)"
        value = value[key] if number else None
    return shown


def _entries_of(value: Any, entries: dict[int, dict[str, tuple[int, Any]]]) -> dict[str, tuple[int, Any]]:
    """A map's keys as paths spell them -> (place, key); built once per map, so that a secret map of
    many bad entries stays quick."""
    if not isinstance(value, Mapping):
        return {}
    if id(value) not in entries:
        entries[id(value)] = {key_path("", k): (n, k) for n, k in enumerate(value, 1)}
    return entries[id(value)]


def _cuts(text: str) -> list[int]:
    """Where a key may end in `text`: before each `.` or `[`, and at the end; longest first."""
    return sorted({i for i, c in enumerate(text) if c in ".["} | {len(text)}, reverse=True)


def _texts(value: Any) -> list[str]:
    """Every value in a config value as text: strings and numbers. Not its map keys: withholding
    names such as `memory` from every message would garble them all; a secret map's keys are withheld
    from its own paths and messages instead (`Problems._withheld_path`, `_map_keys`)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)] if abs(value) < 10**300 else []
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    return []


def _spellings(text: str) -> set[str]:
    """How a message may spell a text: as it is, JSON-escaped (`shown`), Python-quoted (`!r`), and the
    start `shown` keeps of a long one."""
    escaped = json.dumps(text, ensure_ascii=False)
    forms = {text, escaped[1:-1], repr(text)[1:-1]}
    if len(escaped) > MAX_SHOWN:
        forms.add(escaped[: MAX_SHOWN - 20])
    return {f for f in forms if len(f) >= _SECRET_MIN}


def indexed(clusters: Iterable[Any]) -> Iterator[tuple[int, Any]]:
    """Each cluster with its position in `clusters`, as messages name it (`clusters[2]`)."""
    return ((c.config_index, c) for c in clusters)


def type_name(value: Any) -> str:
    """What a YAML/JSON value is, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {
        str: "a string",
        int: "a number",
        float: "a decimal number",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


_KIND_NAMES = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}


def shown(value: Any) -> str:
    """The value as a message shows it: spelled as in YAML/JSON (null, true, "text", [1, 2]), on one
    line, cut to MAX_SHOWN characters."""
    if isinstance(value, int) and value.bit_length() > 256:
        return "(a number too long to show)"  # printing a huge int is slow, and refused past 4300 digits
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= MAX_SHOWN else f"{text[: MAX_SHOWN - 20]}... ({len(text)} characters)"


def given(value: Any) -> str:
    """`<type in words> <value>`, e.g. `a decimal number 2.5`, `null`, `a list [1, 2]`."""
    return type_name(value) if value is None else f"{type_name(value)} {shown(value)}"


def expect(value: Any, kind: type, path: str, problems: Problems, example: str) -> bool:
    # bool is an int in Python; a YAML `true` must not pass for a node count.
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        problems.add(path, f"must be {_KIND_NAMES[kind]}, got {given(value)}; e.g. {example}")
    return ok


def expect_name(
    value: Any, pattern: re.Pattern[str], max_length: int, path: str, problems: Problems, what: str, example: str
) -> bool:
    """A string matching `pattern` in full (no trailing newline) and at most `max_length` long."""
    if not expect(value, str, path, problems, example):
        return False
    if len(value) > max_length or not pattern.fullmatch(value):
        problems.add(path, f"{shown(value)} is not {what} (at most {max_length} characters); e.g. {example}")
        return False
    return True


def key_path(path: str, key: Any) -> str:
    """`path.key`, with a key too long to read shortened (a typo'd key is user input too)."""
    text = str(key) if len(str(key)) <= 40 else str(key)[:30] + "..."
    return f"{path}.{text}" if path else text


def unknown_fields(obj: Mapping[str, Any], known: tuple[str, ...], path: str, problems: Problems) -> None:
    lowered = {k.lower(): k for k in known}
    for key in obj:
        if key not in known:
            guess = lowered.get(str(key).lower())
            hint = f"did you mean `{guess}`?" if guess else f"known fields: {', '.join(known)}"
            problems.add(key_path(path, key), f"unknown field; {hint}")


# Dotted quad with an optional prefix length, written plainly (no spaces, newlines or /016).
_CIDR_TEXT = re.compile(r"\d{1,3}(\.\d{1,3}){3}(/(0|[1-9]\d?))?", re.ASCII)


def parse_cidr(value: Any, path: str, problems: Problems, example: str = "10.0.0.0/16") -> ipaddress.IPv4Network | None:
    if not expect(value, str, path, problems, f'"{example}"'):
        return None
    if not _CIDR_TEXT.fullmatch(value):
        problems.add(path, f'{shown(value)} is not an IPv4 CIDR (four numbers and a prefix length); e.g. "{example}"')
        return None
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        try:
            fixed = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            problems.add(
                path, f'{value!r} is not an IPv4 CIDR ({err}); e.g. "{example}"'
            )  # short: it matched _CIDR_TEXT
        else:
            problems.add(path, f"{value!r} has host bits set; did you mean {str(fixed)!r}?")
        return None


def parse_cidr_list(value: Any, path: str, problems: Problems) -> tuple[str, ...] | None:
    if not expect(value, list, path, problems, '["203.0.113.10/32"]'):
        return None
    if not value:
        problems.add(path, "is empty; list at least one CIDR, or remove the key")
        return None
    cidrs = [parse_cidr(item, f"{path}[{i}]", problems, "203.0.113.10/32") for i, item in enumerate(value)]
    if any(c is None for c in cidrs):
        return None
    return CidrList(str(c) for c in cidrs)


class CidrList(tuple):
    """A list's CIDRs without repeats, each remembering the first position it was listed at, which
    messages name (`apiAccessCidrs[2]`)."""

    positions: dict[str, int]

    def __new__(cls, cidrs: Iterable[str]) -> CidrList:
        listed = list(cidrs)
        unique = super().__new__(cls, dict.fromkeys(listed))
        unique.positions = {c: i for i, c in reversed(list(enumerate(listed)))}
        return unique


def listed(cidrs: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(position in the config's list, CIDR) for each CIDR of `cidrs`."""
    positions = getattr(cidrs, "positions", None)
    return ((positions[c], c) for c in cidrs) if positions else enumerate(cidrs)


# IPv4 space that is not the public internet (IANA special-purpose registry), by what it is.
# Documentation ranges (TEST-NET) are left out: they are the placeholders of every example.
NON_PUBLIC_RANGES = {
    "0.0.0.0/8": "'this network'",
    "10.0.0.0/8": "private (RFC 1918)",
    "100.64.0.0/10": "shared address space (carrier-grade NAT)",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local",
    "172.16.0.0/12": "private (RFC 1918)",
    "192.0.0.0/24": "IETF protocol assignments",
    "192.168.0.0/16": "private (RFC 1918)",
    "198.18.0.0/15": "benchmarking",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
}
# Ranges a VPC may use: RFC 1918, and the non-public ranges AWS VPCs commonly take besides it
# (carrier-grade NAT space for secondary ranges and pods, benchmarking space).
VPC_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "198.18.0.0/15")


def non_public_kind(network: ipaddress.IPv4Network) -> str | None:
    """What `network` is, if it lies inside a range that is not the public internet."""
    for block, kind in NON_PUBLIC_RANGES.items():
        if network.subnet_of(ipaddress.IPv4Network(block)):
            return kind
    return None


def vpc_range_problem(network: ipaddress.IPv4Network) -> str | None:
    """Why a VPC cannot use `network`, or None."""
    if any(network.subnet_of(ipaddress.IPv4Network(block)) for block in VPC_RANGES):
        return None
    kind = non_public_kind(network)
    why = (
        f"{kind} address space, not for a VPC"
        if kind
        else "publicly routable: the VPC would hide the real hosts of those addresses from its pods"
    )
    return (
        f"{network} is {why}; use a range inside {', '.join(VPC_RANGES[:3])} (RFC 1918) or {', '.join(VPC_RANGES[3:])}"
    )


# A Kubernetes quantity (k8s.io/apimachinery pkg/api/resource/quantity.go, the grammar in its doc
# comment): a number with an optional binary (Ki..Ei), decimal (m, k, M..E) or exponent suffix.
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<number>\d+(\.\d*)?|\.\d+)(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)|[eE](?P<exp>[+-]?\d{1,3}))?",
    re.ASCII,
)
_SUFFIX = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_SUFFIX.update({s: 2 ** (10 * (i + 1)) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))})


def quantity_value(value: Any) -> float | None:
    """A Kubernetes quantity in its base unit (bytes, cores): `2Gi`, `500m`, `1e3`, 2; None if it is
    not one (a bool, `2 GB`, a number that is not finite)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    match = _QUANTITY.fullmatch(value) if len(value) <= 64 else None
    if not match:
        return None
    scale = 10 ** int(match["exp"]) if match["exp"] else _SUFFIX[match["suffix"]]
    return float(match["sign"] + match["number"]) * scale
