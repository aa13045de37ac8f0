"""The rule behind the Models pane's `!` rows: which mapped models the key's catalog does not list."""

from __future__ import annotations

from optscale_tui.core.clients.claude_code.models import models_not_in_catalog
from optscale_tui.core.connection import TierMapping

HAIKU, SONNET, OPUS = "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6", "anthropic/claude-opus-4-6"
OPENAI_ONLY = ["openai/gpt-5", "openai/gpt-4.1"]
ANTHROPIC_SONNET_HAIKU = [HAIKU, SONNET]


def test_tiers_the_key_cannot_use_are_returned_in_target_order():
    tiers = TierMapping(haiku=HAIKU, sonnet=SONNET, opus=OPUS)
    assert models_not_in_catalog(tiers, OPENAI_ONLY) == {"haiku": HAIKU, "sonnet": SONNET, "opus": OPUS}
    assert list(models_not_in_catalog(tiers, OPENAI_ONLY)) == ["haiku", "sonnet", "opus"]


def test_a_typed_model_the_catalog_lacks_is_returned_and_listed_ones_are_not():
    tiers = TierMapping(haiku=HAIKU, sonnet=SONNET, opus=OPUS)
    assert models_not_in_catalog(tiers, ANTHROPIC_SONNET_HAIKU) == {"opus": OPUS}


def test_everything_listed_returns_nothing_and_unmapped_targets_are_not_checked():
    assert models_not_in_catalog(TierMapping(haiku=HAIKU, sonnet=SONNET), ANTHROPIC_SONNET_HAIKU) == {}
    assert models_not_in_catalog(TierMapping(), OPENAI_ONLY) == {}


def test_main_and_subagent_models_are_checked_too():
    tiers = TierMapping(sonnet=SONNET, main_model=OPUS, subagent_model="openai/gpt-5")
    assert models_not_in_catalog(tiers, ANTHROPIC_SONNET_HAIKU) == {"main_model": OPUS,
                                                                    "subagent_model": "openai/gpt-5"}


def test_claude_code_aliases_as_main_or_subagent_model_are_not_gateway_ids():
    tiers = TierMapping(sonnet=SONNET, main_model="opus", subagent_model="Sonnet[1m]")
    assert models_not_in_catalog(tiers, [SONNET]) == {}
    assert models_not_in_catalog(TierMapping(main_model="opusplan"), []) == {}


def test_the_1m_suffix_is_ignored_as_claude_code_strips_it():
    assert models_not_in_catalog(TierMapping(sonnet=f"{SONNET}[1m]"), [SONNET]) == {}


def test_an_empty_catalog_lists_no_mapped_model():
    assert models_not_in_catalog(TierMapping(opus=OPUS), []) == {"opus": OPUS}
