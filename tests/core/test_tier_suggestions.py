"""The rule that suggests a gateway model for each unmapped Claude Code tier (Models pane `f`, the fix-it, the CLI)."""

from __future__ import annotations

from optscale_tui.core.clients.claude_code.models import TierSuggestion, model_family, suggest_tier_models
from optscale_tui.core.connection import TierMapping

DEMO = ["anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6", "anthropic/claude-opus-4-6", "openai/gpt-5"]


def models(suggested: dict[str, TierSuggestion]) -> dict[str, str]:
    return {tier: s.model for tier, s in suggested.items()}


def test_each_tier_gets_the_model_named_for_it_whatever_is_highlighted():
    suggested = suggest_tier_models(TierMapping(), DEMO, fallback="anthropic/claude-haiku-4-5")
    assert models(suggested) == {"opus": "anthropic/claude-opus-4-6", "sonnet": "anthropic/claude-sonnet-4-6",
                                 "haiku": "anthropic/claude-haiku-4-5"}
    assert all(s.matches_family and not s.note for s in suggested.values())


def test_mapped_tiers_are_left_alone():
    suggested = suggest_tier_models(TierMapping(sonnet="openai/gpt-5"), DEMO)
    assert models(suggested) == {"opus": "anthropic/claude-opus-4-6", "haiku": "anthropic/claude-haiku-4-5"}


def test_the_newest_version_wins_by_number_not_by_string():
    catalog = ["anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4-10", "anthropic/claude-sonnet-4-6",
               "anthropic/claude-3-7-sonnet-latest", "anthropic/claude-sonnet-4-20250514"]
    assert suggest_tier_models(TierMapping(), catalog)["sonnet"].model == "anthropic/claude-sonnet-4-10"


def test_a_release_date_is_not_read_as_a_version():
    catalog = ["anthropic/claude-opus-4-20250514", "anthropic/claude-opus-4-1-20250805"]
    assert suggest_tier_models(TierMapping(), catalog)["opus"].model == "anthropic/claude-opus-4-1-20250805"


def test_anthropic_ids_are_preferred_over_other_providers():
    catalog = ["bedrock/us.anthropic.claude-opus-4-6-v1:0", "anthropic/claude-opus-4-1", "vertex/claude-opus-4-6@x"]
    assert suggest_tier_models(TierMapping(), catalog)["opus"].model == "anthropic/claude-opus-4-1"


def test_other_providers_match_when_there_is_no_anthropic_one():
    catalog = ["openai/gpt-5", "bedrock/us.anthropic.claude-opus-4-1-20250805-v1:0",
               "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0"]
    suggested = suggest_tier_models(TierMapping(), catalog)
    assert models(suggested)["opus"] == "bedrock/us.anthropic.claude-opus-4-1-20250805-v1:0"
    assert models(suggested)["sonnet"] == "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0"


def test_display_names_count_when_the_id_does_not_say():
    catalog = [("gw/model-a", "Claude Sonnet 4.5"), ("gw/model-b", "Claude Sonnet 4.6"), ("gw/model-c", "GPT-5")]
    assert suggest_tier_models(TierMapping(), catalog)["sonnet"].model == "gw/model-b"
    assert model_family("gw/model-c", "GPT-5") is None
    assert model_family("x/claude-3-haiku", "Claude 3 Haiku") == "haiku"


def test_a_missing_family_borrows_its_neighbour_and_says_so():
    suggested = suggest_tier_models(TierMapping(), ["anthropic/claude-sonnet-4-6", "openai/gpt-5"])
    opus = suggested["opus"]
    assert (opus.model, opus.matches_family, opus.borrowed_from) == ("anthropic/claude-sonnet-4-6", False, "sonnet")
    assert opus.note == "no Opus model known; uses Sonnet's model"
    assert suggested["sonnet"].matches_family


def test_no_claude_model_at_all_uses_the_fallback_or_nothing():
    assert suggest_tier_models(TierMapping(), ["openai/gpt-5"]) == {}
    suggested = suggest_tier_models(TierMapping(), ["openai/gpt-5"], fallback="openai/gpt-5")
    assert models(suggested) == dict.fromkeys(("opus", "sonnet", "haiku"), "openai/gpt-5")
    assert all(not s.matches_family and s.note == f"no {t.capitalize()} model known" for t, s in suggested.items())


def test_family_words_inside_other_words_do_not_count():
    assert model_family("acme/magnum-opusculum") is None
    assert model_family("acme/haiku-or-sonnet") is None  # two families: no guess
