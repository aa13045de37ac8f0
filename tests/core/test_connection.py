"""connection.py: every Base URL shape users paste, the API key rules, model names."""

from __future__ import annotations

import pytest

from optscale_tui.core.causes import Cause
from optscale_tui.core.clients.claude_code.models import strip_context_suffix
from optscale_tui.core.connection import (
    ApiKey,
    ConnectionValues,
    InputError,
    TierMapping,
    mask_secret,
    parse_api_key,
    parse_base_url,
    parse_model_name,
)

ORG = "7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f"
ROOT = f"https://my.optscale.ai/llm_proxy/{ORG}"


@pytest.mark.parametrize(
    "pasted",
    [
        f"{ROOT}/v1",
        f"{ROOT}/v1/",
        f"  {ROOT}/v1\n",
        f'"{ROOT}/v1"',
        f"'{ROOT}/v1'",
        f"<{ROOT}/v1>",
        f"{ROOT}/anthropic",
        f"{ROOT}/anthropic/",
        ROOT,
        f"{ROOT}/",
        f"{ROOT}/v1/chat/completions",
        f"{ROOT}/anthropic/v1/messages",
        f"HTTPS://MY.OPTSCALE.AI/llm_proxy/{ORG}/v1",
        f"https://my.optscale.ai:443/llm_proxy/{ORG}/v1",
    ],
)
def test_every_pasted_form_gives_the_same_gateway(pasted: str) -> None:
    url = parse_base_url(pasted)
    assert url.proxy_root == ROOT
    assert url.openai_base == f"{ROOT}/v1"
    assert url.anthropic_base == f"{ROOT}/anthropic"
    assert url.org_id == ORG
    assert url.is_https and not url.is_loopback
    assert url.warnings == ()
    assert url.host == "my.optscale.ai"
    assert url.origin == "https://my.optscale.ai"


def test_org_id_is_normalised_to_lower_case_and_port_kept() -> None:
    url = parse_base_url(f"https://gw.example.com:8443/llm_proxy/{ORG.upper()}/v1")
    assert url.org_id == ORG
    assert url.proxy_root == f"https://gw.example.com:8443/llm_proxy/{ORG.upper()}"
    assert url.origin == "https://gw.example.com:8443"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "app.localhost"])
def test_plain_http_is_accepted_for_loopback_with_a_warning(host: str) -> None:
    url = parse_base_url(f"http://{host}:8080/llm_proxy/{ORG}/v1")
    assert url.is_loopback and not url.is_https
    assert url.anthropic_base.startswith("http://")
    assert any("loopback" in w for w in url.warnings)


def test_https_loopback_has_no_http_warning() -> None:
    url = parse_base_url(f"https://127.0.0.1:8443/llm_proxy/{ORG}/v1")
    assert url.is_loopback
    assert not any("http://" in w for w in url.warnings)


@pytest.mark.parametrize("host", ["my.optscale.ai", "10.0.0.5", "192.168.1.20", "localhost.evil.com"])
def test_plain_http_to_a_remote_host_is_refused(host: str) -> None:
    with pytest.raises(InputError) as err:
        parse_base_url(f"http://{host}/llm_proxy/{ORG}/v1")
    assert err.value.cause is Cause.INSECURE_HTTP
    assert err.value.field == "base_url"
    assert "unencrypted" in err.value.reason


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        (f"https://user:pass@my.optscale.ai/llm_proxy/{ORG}/v1", "user name or password"),
        (f"https://token@my.optscale.ai/llm_proxy/{ORG}/v1", "user name or password"),
        (f"{ROOT}/v1?key=abc", "query"),
        (f"{ROOT}/v1#top", "fragment"),
        (f"{ROOT}/v1#", "fragment"),
        ("", "Paste the Base URL"),
        ("   ", "Paste the Base URL"),
        ("my.optscale.ai/llm_proxy/x/v1", "must start with https://"),
        (f"ftp://my.optscale.ai/llm_proxy/{ORG}", "not ftp://"),
        (f"https://my.optscale.ai/llm proxy/{ORG}", "spaces"),
        ("https:///llm_proxy/x", "no host"),
        ("https://my.optscale.ai:notaport/v1", "port in the Base URL"),
    ],
)
def test_unusable_urls_are_refused_with_a_plain_reason(text: str, phrase: str) -> None:
    with pytest.raises(InputError) as err:
        parse_base_url(text)
    assert phrase in err.value.reason
    assert str(err.value) == err.value.reason


def test_missing_org_id_warns() -> None:
    url = parse_base_url("https://my.optscale.ai/llm_proxy/v1")
    assert url.org_id is None
    assert any("no organisation id" in w for w in url.warnings)


def test_non_uuid_org_warns() -> None:
    url = parse_base_url("https://my.optscale.ai/llm_proxy/my-team/v1")
    assert url.org_id is None
    assert any("'my-team'" in w and "not an organisation UUID" in w for w in url.warnings)


def test_url_without_llm_proxy_segment_warns_but_is_usable() -> None:
    url = parse_base_url("https://gateway.example.com/v1")
    assert url.anthropic_base == "https://gateway.example.com/anthropic"
    assert any("/llm_proxy/" in w for w in url.warnings)


def test_unexpected_path_after_org_id_warns() -> None:
    url = parse_base_url(f"{ROOT}/extra/v1")
    assert any("/extra" in w for w in url.warnings)


# ---------------------------------------------------------------------------------------------- API keys


@pytest.mark.parametrize(
    "pasted",
    ["sk-bf-abcdef0123456789", "  sk-bf-abcdef0123456789\n", '"sk-bf-abcdef0123456789"', "Bearer sk-bf-abcdef0123456789"],
)
def test_api_key_is_cleaned(pasted: str) -> None:
    key = parse_api_key(pasted)
    assert key.value == "sk-bf-abcdef0123456789"
    assert key.masked == "sk-bf-…6789"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("", "Paste the API key"),
        ("sk-bf-abc def", "spaces"),
        ("sk-bf-abc\ndef", "spaces"),
        ("sk-bf-ключ12345", "cannot be sent in an HTTP header"),
        ("sk-bf-abc\x00def", "cannot be sent in an HTTP header"),
    ],
)
def test_bad_api_keys_are_refused(text: str, phrase: str) -> None:
    with pytest.raises(InputError) as err:
        parse_api_key(text)
    assert err.value.field == "api_key"
    assert phrase in err.value.reason


def test_api_key_never_shows_in_repr_or_str() -> None:
    secret = "sk-bf-TOPSECRET-0123456789"
    key = ApiKey(secret)
    values = ConnectionValues(parse_base_url(f"{ROOT}/v1"), key)
    for shown in (repr(key), str(key), repr(values), f"{key}"):
        assert secret not in shown
        assert "sk-bf-…6789" in shown


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("sk-bf-abcdef0123456789", "sk-bf-…6789"),
        ("sk-ant-api03-abcdefgh1234", "sk-ant-…1234"),
        ("sk-proj-abcdefgh5678", "sk-…5678"),
        ("plainsecretvalue9999", "…9999"),
        ("short", "…"),
        ("12345678901", "…"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_secret_form(value: str | None, masked: str) -> None:
    assert mask_secret(value) == masked


# ------------------------------------------------------------------------------------------------ models


@pytest.mark.parametrize(
    "name",
    [
        "anthropic/claude-sonnet-4-6",
        "claude-sonnet-4-6",
        "anthropic/claude-opus-4-6[1m]",
        "ollama/qwen3:32b",
        "openai/gpt-4.1",
        "bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "my-org/team/model@2025",
    ],
)
def test_valid_model_names(name: str) -> None:
    assert parse_model_name(name) == name
    assert parse_model_name(f"  '{name}' ") == name


@pytest.mark.parametrize("name", ["", "   ", None])
def test_empty_model_name_means_unmapped(name: str | None) -> None:
    assert parse_model_name(name) is None


@pytest.mark.parametrize(
    "junk",
    ["claude sonnet", "anthropic/", "a//b", "/leading-slash", "model[2m]", "model[1m]x", "naïve-model", "-dash-first"],
)
def test_junk_model_names_are_refused(junk: str) -> None:
    with pytest.raises(InputError) as err:
        parse_model_name(junk)
    assert err.value.field == "model"
    assert "is not a model name" in err.value.reason


def test_context_suffix_is_stripped_only_when_present() -> None:
    assert strip_context_suffix("anthropic/claude-opus-4-6[1m]") == "anthropic/claude-opus-4-6"
    assert strip_context_suffix("anthropic/claude-opus-4-6") == "anthropic/claude-opus-4-6"


def test_tier_mapping_reports_mapped_tiers() -> None:
    tiers = TierMapping(haiku="a/h", sonnet=None, opus="a/o")
    assert tiers.tiers() == {"haiku": "a/h", "sonnet": None, "opus": "a/o"}
    assert tiers.mapped() == {"haiku": "a/h", "opus": "a/o"}
    assert tiers.any_tier
    assert not TierMapping().any_tier


def test_an_api_key_in_the_url_field_is_named_as_such():
    from optscale_tui.core.connection import looks_like_api_key

    assert looks_like_api_key(" sk-bf-abc123 ")
    assert not looks_like_api_key("https://gw/llm_proxy/x/v1")
    with pytest.raises(InputError, match="API key"):
        parse_base_url("sk-bf-0123456789abcdef")


def test_a_key_inside_the_url_text_is_split_off():
    from optscale_tui.core.connection import split_key_from_url

    url = "https://gw.example/llm_proxy/7f1c5a52-3f0e-4c1e-9a51-0d6f2b8a9c11/v1"
    assert split_key_from_url(url + "sk-bf-abc-123") == (url, "sk-bf-abc-123")
    assert split_key_from_url(f"{url} Bearer sk-bf-abc-123 ") == (url, "sk-bf-abc-123")
    assert split_key_from_url(url) is None
    assert split_key_from_url("") is None


def test_a_usable_key_that_looks_wrong_says_why():
    from optscale_tui.core.connection import ApiKey

    assert "sk-bf-" in ApiKey("Q").doubt
    assert "characters long" in ApiKey("sk-bf-abc").doubt
    assert ApiKey("sk-bf-demo-all-models-d3e0a001").doubt is None
    assert ApiKey("sk-bf-" + "0" * 36).doubt is None
