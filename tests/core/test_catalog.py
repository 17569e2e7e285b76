"""The catalog is data: every documented id parses exactly; any other id still parses."""

from __future__ import annotations

import pytest

from gw_core import catalog
from gw_core.catalog import Family, closest, parse

# The gateway's own page, copied id by id (its table lists 45; the contract's prose says 44).
DOCUMENTED = """
gpt-5.4 gpt-5.4-official gpt-5.4-hc gpt-5.4-fd gpt-5.4-low
gpt-5.5 gpt-5.5-official gpt-5.5-hc gpt-5.5-fd gpt-5.5-low
claude-haiku-4-5 claude-haiku-4-5-official claude-haiku-4-5-hc claude-haiku-4-5-fd
claude-opus-4-5 claude-opus-4-5-official claude-opus-4-5-hc claude-opus-4-5-fd
claude-opus-4-6 claude-opus-4-6-official claude-opus-4-6-hc claude-opus-4-6-fd
claude-opus-4-7 claude-opus-4-7-official claude-opus-4-7-hc claude-opus-4-7-fd
claude-sonnet-4-5 claude-sonnet-4-5-official claude-sonnet-4-5-hc claude-sonnet-4-5-fd
claude-sonnet-4-6 claude-sonnet-4-6-official claude-sonnet-4-6-hc claude-sonnet-4-6-fd
gemini-2.5-flash-lite
gemini-2.5-pro gemini-2.5-pro-official gemini-2.5-pro-low
gemini-3-flash-preview gemini-3-flash-preview-official gemini-3-flash-preview-low
gemini-3.1-flash-lite-preview
gemini-3.1-pro-preview gemini-3.1-pro-preview-official gemini-3.1-pro-preview-low
""".split()


def test_catalog_lists_exactly_the_documented_ids() -> None:
    assert sorted(catalog.all_ids()) == sorted(DOCUMENTED)
    assert len(set(DOCUMENTED)) == 45


@pytest.mark.parametrize("model_id", DOCUMENTED)
def test_documented_ids_are_known_with_family_pool_and_capabilities(model_id: str) -> None:
    spec = parse(model_id)
    assert spec.known and spec.id == model_id
    assert model_id.startswith(spec.base)
    assert spec.family.value == model_id.split("-", 1)[0]
    assert spec.image_input is True
    assert spec.video_input is (spec.family is Family.GEMINI)
    assert spec.context_window >= 200_000 and 64_000 <= spec.max_output <= 128_000
    suffix = model_id[len(spec.base) :]
    assert spec.pool == catalog.POOLS[suffix]


@pytest.mark.parametrize(
    ("model_id", "temp_max", "exclusive", "forbidden"),
    [
        ("claude-sonnet-4-5", 1.0, True, set()),
        ("claude-haiku-4-5-hc", 1.0, True, set()),
        ("claude-opus-4-6-fd", 1.0, True, set()),
        ("claude-opus-4-7", 1.0, True, {"temperature", "top_p"}),
        ("claude-opus-4-7-official", 1.0, True, {"temperature", "top_p"}),
        ("gpt-5.4", 2.0, False, set()),
        ("gemini-3.1-pro-preview-low", 2.0, False, set()),
    ],
)
def test_parameter_rules_per_family(
    model_id: str, temp_max: float, exclusive: bool, forbidden: set[str]
) -> None:
    rules = parse(model_id).rules
    assert rules.temperature_max == temp_max
    assert rules.temperature_top_p_exclusive is exclusive
    assert set(rules.forbidden) == forbidden
    assert rules.max_stop == 4


def test_vendor_figures_per_base() -> None:
    assert (parse("gpt-5.5-hc").context_window, parse("gpt-5.5-hc").max_output) == (
        1_050_000,
        128_000,
    )
    assert parse("claude-haiku-4-5").context_window == 200_000
    assert parse("claude-opus-4-7").max_output == 128_000
    assert parse("claude-sonnet-4-6").context_window == 1_000_000
    assert parse("gemini-2.5-flash-lite").context_window == 1_048_576


@pytest.mark.parametrize(
    ("model_id", "family", "base", "pool"),
    [
        ("gpt-6", Family.GPT, "gpt-6", "standard"),
        ("gpt-6-hc", Family.GPT, "gpt-6", "hc"),
        ("claude-opus-5-0-official", Family.CLAUDE, "claude-opus-5-0", "official"),
        ("gemini-4-pro", Family.GEMINI, "gemini-4-pro", "standard"),
        ("o3-mini", Family.GPT, "o3-mini", "standard"),
        ("deepseek-v4", Family.UNKNOWN, "deepseek-v4", "standard"),
    ],
)
def test_unknown_ids_are_never_refused(model_id: str, family: Family, base: str, pool: str) -> None:
    spec = parse(model_id)
    assert not spec.known
    assert (spec.family, spec.base, spec.pool) == (family, base, pool)
    # Conservative: small limits, video only where the family is known to take it.
    assert spec.context_window <= 128_000 and spec.max_output <= 8_192
    assert spec.video_input is (family is Family.GEMINI)


def test_unknown_claude_keeps_the_family_temperature_range_only() -> None:
    rules = parse("claude-opus-9").rules
    assert rules.temperature_max == 1.0
    assert not rules.temperature_top_p_exclusive and not rules.forbidden


def test_known_base_in_an_unlisted_pool_keeps_base_facts() -> None:
    spec = parse("claude-opus-4-7-low")
    assert not spec.known
    assert spec.base == "claude-opus-4-7" and spec.pool == "low"
    assert "temperature" in spec.rules.forbidden


def test_with_pool_moves_between_pools_and_refuses_unoffered_ones() -> None:
    spec = parse("gpt-5.4-hc")
    assert spec.with_pool("official").id == "gpt-5.4-official"
    assert spec.with_pool("standard").id == "gpt-5.4"
    with pytest.raises(ValueError, match="not offered in the 'low' pool"):
        parse("claude-sonnet-4-6").with_pool("low")
    with pytest.raises(ValueError, match="unknown pool"):
        spec.with_pool("premium")


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_model_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="model must be a non-empty string"):
        parse(bad)


def test_thought_signatures_only_on_gemini_3() -> None:
    assert parse("gemini-3-flash-preview").thought_signatures
    assert parse("gemini-3.1-pro-preview-low").thought_signatures
    assert not parse("gemini-2.5-pro").thought_signatures
    assert not parse("gpt-5.4").thought_signatures


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("claude-sonet-4-6", "claude-sonnet-4-6"),
        ("claude-sonnet-4.6", "claude-sonnet-4-6"),
        ("gpt-5.4-hcc", "gpt-5.4-hc"),
        ("gemini-3-flash", "gemini-3-flash-preview"),
        ("gpt5.4", "gpt-5.4"),
    ],
)
def test_closest_puts_the_meant_id_first(typo: str, meant: str) -> None:
    assert closest(typo)[0] == meant


def test_closest_never_offers_the_id_itself_and_nothing_for_far_ids() -> None:
    assert "claude-sonnet-4-6" not in closest("claude-sonnet-4-6")
    assert closest("gpt-9-imaginary") == []
    assert closest("") == []
    assert len(closest("claude-sonnet-4-6", n=2)) == 2
