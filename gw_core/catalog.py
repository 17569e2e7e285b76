"""The gateway's model catalog, as data.

A model id is ``<base><suffix>``; the suffix picks an account pool. Every id the gateway
documents is listed in :data:`BASES` (45 ids: the contract's prose says 44, but its table
and the gateway's own page list 45, and we follow the table). Ids outside it are still
accepted, with the family guessed from the prefix and conservative capabilities, because
the gateway adds models faster than we release.

Context windows and output limits are public vendor figures, noted per row:

- OpenAI model pages (GPT-5.4, GPT-5.5): 1,050,000 token context, 128,000 max output.
- Anthropic "models overview" pages: Haiku 4.5, Sonnet 4.5, Opus 4.5 have 200K context
  and 64K output; Sonnet 4.6 has 1M context and 64K output; Opus 4.6 and 4.7 have 1M
  context and 128K output.
- Google Gemini API model pages: every Gemini model here takes 1,048,576 input tokens
  and gives at most 65,536 output tokens.

Adding a model is one row in :data:`BASES`; a new upstream parameter rule is one field of
:class:`ParamRules`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

__all__ = [
    "BASES",
    "POOLS",
    "Family",
    "ModelSpec",
    "ParamRules",
    "all_ids",
    "closest",
    "parse",
]


class Family(str, Enum):
    """The upstream vendor behind a model; it decides the wire dialect and the rules."""

    GPT = "gpt"
    CLAUDE = "claude"
    GEMINI = "gemini"
    UNKNOWN = "unknown"


#: Suffix -> pool name. The empty suffix is the standard pool.
POOLS: dict[str, str] = {
    "": "standard",
    "-official": "official",
    "-hc": "hc",
    "-fd": "fd",
    "-low": "low",
}
_SUFFIX_BY_POOL = {pool: suffix for suffix, pool in POOLS.items()}


@dataclass(frozen=True)
class ParamRules:
    """Upstream parameter rules that are known to produce a 400, checked before sending.

    ``temperature_max``: the highest temperature the upstream accepts.
    ``temperature_top_p_exclusive``: the upstream rejects both set in one request.
    ``forbidden``: parameters the upstream rejects outright.
    ``max_stop``: how many stop sequences the gateway accepts.
    """

    temperature_max: float = 2.0
    temperature_top_p_exclusive: bool = False
    forbidden: frozenset[str] = frozenset()
    max_stop: int = 4


# GPT-5.x rejects ``max_tokens``; the wire layer always sends ``max_completion_tokens``
# (the only spelling the gateway documents), so no GPT rule is needed for it.
_GPT5 = ParamRules()
_CLAUDE_45 = ParamRules(temperature_max=1.0, temperature_top_p_exclusive=True)
_CLAUDE_OPUS_47 = ParamRules(
    temperature_max=1.0,
    temperature_top_p_exclusive=True,
    forbidden=frozenset({"temperature", "top_p"}),
)
_GEMINI = ParamRules()
_UNKNOWN = ParamRules()

_ALL_POOLS = ("standard", "official", "hc", "fd", "low")
_CLAUDE_POOLS = ("standard", "official", "hc", "fd")
_GEMINI_POOLS = ("standard", "official", "low")


@dataclass(frozen=True)
class _Base:
    name: str
    family: Family
    pools: tuple[str, ...]
    context_window: int
    max_output: int
    rules: ParamRules
    video: bool = False


#: The bases the gateway documents, with the pools each is offered in.
BASES: tuple[_Base, ...] = (
    _Base("gpt-5.4", Family.GPT, _ALL_POOLS, 1_050_000, 128_000, _GPT5),
    _Base("gpt-5.5", Family.GPT, _ALL_POOLS, 1_050_000, 128_000, _GPT5),
    _Base("claude-haiku-4-5", Family.CLAUDE, _CLAUDE_POOLS, 200_000, 64_000, _CLAUDE_45),
    _Base("claude-opus-4-5", Family.CLAUDE, _CLAUDE_POOLS, 200_000, 64_000, _CLAUDE_45),
    _Base("claude-opus-4-6", Family.CLAUDE, _CLAUDE_POOLS, 1_000_000, 128_000, _CLAUDE_45),
    _Base("claude-opus-4-7", Family.CLAUDE, _CLAUDE_POOLS, 1_000_000, 128_000, _CLAUDE_OPUS_47),
    _Base("claude-sonnet-4-5", Family.CLAUDE, _CLAUDE_POOLS, 200_000, 64_000, _CLAUDE_45),
    _Base("claude-sonnet-4-6", Family.CLAUDE, _CLAUDE_POOLS, 1_000_000, 64_000, _CLAUDE_45),
    _Base("gemini-2.5-flash-lite", Family.GEMINI, ("standard",), 1_048_576, 65_536, _GEMINI, True),
    _Base(
        "gemini-3.1-flash-lite-preview",
        Family.GEMINI,
        ("standard",),
        1_048_576,
        65_536,
        _GEMINI,
        True,
    ),
    _Base("gemini-2.5-pro", Family.GEMINI, _GEMINI_POOLS, 1_048_576, 65_536, _GEMINI, True),
    _Base("gemini-3-flash-preview", Family.GEMINI, _GEMINI_POOLS, 1_048_576, 65_536, _GEMINI, True),
    _Base("gemini-3.1-pro-preview", Family.GEMINI, _GEMINI_POOLS, 1_048_576, 65_536, _GEMINI, True),
)
_BY_NAME = {b.name: b for b in BASES}

# Conservative figures for ids outside the catalog: small enough never to overflow a
# real upstream, large enough for RAG prompts.
_UNKNOWN_CONTEXT = 128_000
_UNKNOWN_OUTPUT = 8_192


@dataclass(frozen=True)
class ModelSpec:
    """Everything the client knows about one model id, known or not."""

    id: str
    base: str
    pool: str
    family: Family
    known: bool
    context_window: int
    max_output: int
    image_input: bool
    video_input: bool
    rules: ParamRules = field(default=_UNKNOWN)

    @property
    def thought_signatures(self) -> bool:
        """Gemini 3 signs tool calls and wants the signature echoed on the next turn."""
        return self.family is Family.GEMINI and self.base.startswith("gemini-3")

    def with_pool(self, pool: str) -> ModelSpec:
        """The same base model in another account pool (used by pool failover)."""
        if pool not in _SUFFIX_BY_POOL:
            raise ValueError(
                f"unknown pool {pool!r}; use one of {', '.join(sorted(_SUFFIX_BY_POOL))}"
            )
        base = _BY_NAME.get(self.base)
        if base is not None and pool not in base.pools:
            raise ValueError(
                f"{self.base} is not offered in the {pool!r} pool; "
                f"its pools are: {', '.join(base.pools)}"
            )
        return parse(self.base + _SUFFIX_BY_POOL[pool])


def _split_suffix(model_id: str) -> tuple[str, str]:
    for suffix, pool in POOLS.items():
        if suffix and model_id.endswith(suffix):
            return model_id[: -len(suffix)], pool
    return model_id, "standard"


def _guess_family(model_id: str) -> Family:
    lowered = model_id.lower()
    for family in (Family.GPT, Family.CLAUDE, Family.GEMINI):
        if lowered.startswith(family.value):
            return family
    if lowered.startswith(("o1", "o3", "o4", "chatgpt")):
        return Family.GPT
    return Family.UNKNOWN


def _guess_rules(family: Family, base: str) -> ParamRules:
    # Unknown ids get only rules that hold for the whole family, so that nothing the
    # upstream would accept is refused locally.
    if family is Family.GPT and base.startswith("gpt-5"):
        return _GPT5
    if family is Family.CLAUDE:
        return ParamRules(temperature_max=1.0)
    return _UNKNOWN


@lru_cache(maxsize=512)
def parse(model_id: str) -> ModelSpec:
    """Describe any model id: catalog ids exactly, others by prefix. Never refuses an id."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise ValueError("model must be a non-empty string such as 'gpt-5.4' or 'claude-opus-4-7'")
    base_name, pool = _split_suffix(model_id)
    base = _BY_NAME.get(base_name)
    if base is not None and pool in base.pools:
        return ModelSpec(
            id=model_id,
            base=base.name,
            pool=pool,
            family=base.family,
            known=True,
            context_window=base.context_window,
            max_output=base.max_output,
            image_input=True,
            video_input=base.video,
            rules=base.rules,
        )
    if base is not None:
        # A documented base in a pool the gateway does not list: keep what we know of
        # the base, but mark the id unknown so nobody mistakes it for a catalog entry.
        return ModelSpec(
            id=model_id,
            base=base.name,
            pool=pool,
            family=base.family,
            known=False,
            context_window=base.context_window,
            max_output=base.max_output,
            image_input=True,
            video_input=base.video,
            rules=base.rules,
        )
    family = _guess_family(model_id)
    return ModelSpec(
        id=model_id,
        base=base_name,
        pool=pool,
        family=family,
        known=False,
        context_window=_UNKNOWN_CONTEXT,
        max_output=_UNKNOWN_OUTPUT,
        # The gateway documents image input for every model and video for Gemini.
        image_input=True,
        video_input=family is Family.GEMINI,
        rules=_guess_rules(family, base_name),
    )


def all_ids() -> list[str]:
    """The 45 documented ids, in catalog order."""
    return [b.name + _SUFFIX_BY_POOL[p] for b in BASES for p in b.pools]


def closest(model_id: str, n: int = 3) -> list[str]:
    """Catalog ids that look like ``model_id`` (a typo, a wrong pool suffix), best first.

    For "did you mean ...?" hints: never ``model_id`` itself, empty when nothing is close.
    """
    if not isinstance(model_id, str) or not model_id.strip():
        return []
    wanted = model_id.strip().lower()
    others = [known for known in all_ids() if known != wanted]
    return difflib.get_close_matches(wanted, others, n=n, cutoff=0.6)
