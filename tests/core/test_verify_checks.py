"""Each network check alone, against a scripted client: no gateway, no engine (issue 11: one function per check)."""

from __future__ import annotations

from optscale_tui.core.causes import Cause
from optscale_tui.core.gateway.catalog import Catalog, ModelInfo
from optscale_tui.core.gateway.results import ProbeResult, ProbeTimings
from optscale_tui.core.verify.checks import (
    REDUCED_BETAS,
    Probes,
    blame_v1_base,
    check_betas,
    check_catalog,
    check_count_tokens,
    check_prompt,
    direct_check,
)
from optscale_tui.core.verify.events import CheckResult, CheckSpec, CheckStatus, TokenChunk
from tests.core.verify_targets import TIERS, make_target

URL = "https://127.0.0.1:9/anthropic"  # never contacted: the client below answers
TIMINGS = ProbeTimings(ttfb_ms=1.0, ttft_ms=2.0, total_ms=3.0, output_tokens=4, tokens_per_s=5.0)


def probe(cause: Cause | None = None, text: str = "") -> ProbeResult:
    return ProbeResult("probe", cause is None, 200 if cause is None else 400, cause, "", {"x-request-id": "r1"},
                       TIMINGS, text)


class ScriptedClient:
    """Answers each probe as scripted, and records what it was asked."""

    def __init__(self, *, catalog: tuple[str, ...] | Cause = (), betas: dict | None = None,
                 count_tokens: dict | None = None) -> None:
        self.catalog, self.betas, self.counts = catalog, betas or {}, count_tokens or {}
        self.asked: list[tuple[str, object]] = []

    async def list_models(self) -> Catalog:
        if isinstance(self.catalog, Cause):
            return Catalog((), URL, probe(self.catalog))
        return Catalog(tuple(ModelInfo(m) for m in self.catalog), URL, probe())

    async def stream_message(self, model, prompt, *, max_tokens, on_text):
        for piece in ("It ", "works."):
            on_text(piece)
        return probe(text="It works.")

    async def count_tokens(self, model):
        self.asked.append(("count_tokens", model))
        return probe(self.counts.get(model))

    async def beta_probe(self, model, *, betas=None):
        self.asked.append(("beta", betas))
        return probe(self.betas.get(betas))


def probes(client: ScriptedClient, events: list | None = None, **target) -> Probes:
    return Probes(client, make_target(None, url=URL, **target), (events if events is not None else []).append)


ALL = (TIERS.haiku, TIERS.sonnet, TIERS.opus)


async def test_catalog_warns_and_names_the_mapped_models_it_does_not_list():
    result = await check_catalog(probes(ScriptedClient(catalog=(TIERS.haiku,))), CheckSpec("catalog", "Catalog"))
    assert result.status is CheckStatus.WARN
    assert TIERS.sonnet in result.message and TIERS.opus in result.message and TIERS.haiku not in result.message
    assert result.fix_command  # the CLI's `models` command


async def test_prompt_streams_each_piece_as_a_token_chunk():
    events: list = []
    spec = CheckSpec("prompt.haiku", "Haiku", "haiku", TIERS.haiku)
    result = await check_prompt(probes(ScriptedClient(), events), spec)
    assert result.status is CheckStatus.PASS and result.text == "It works."
    assert events == [TokenChunk("prompt.haiku", "It "), TokenChunk("prompt.haiku", "works.")]


async def test_count_tokens_skips_when_the_catalog_refused_the_key_and_sends_nothing():
    client = ScriptedClient(catalog=Cause.AUTH_INVALID_KEY)
    result = await check_count_tokens(probes(client), CheckSpec("count_tokens", "count_tokens", None, TIERS.opus))
    assert result.status is CheckStatus.SKIP and "key was refused" in result.message
    assert client.asked == []


async def test_count_tokens_moves_on_to_a_model_the_key_may_use():
    client = ScriptedClient(catalog=ALL, count_tokens={TIERS.opus: Cause.MODEL_NOT_ALLOWED})
    result = await check_count_tokens(probes(client), CheckSpec("count_tokens", "count_tokens", None, TIERS.opus))
    assert result.status is CheckStatus.PASS and result.model == TIERS.sonnet
    assert client.asked == [("count_tokens", TIERS.opus), ("count_tokens", TIERS.sonnet)]


async def test_betas_warn_when_only_the_reduced_list_is_accepted():
    client = ScriptedClient(catalog=ALL, betas={None: Cause.BETA_REJECTED})
    result = await check_betas(probes(client), CheckSpec("betas", "Betas", None, TIERS.opus))
    assert (result.status, result.cause) == (CheckStatus.WARN, Cause.BETA_REJECTED)
    assert client.asked == [("beta", None), ("beta", REDUCED_BETAS)]


async def test_betas_fail_when_even_the_reduced_list_is_refused():
    client = ScriptedClient(catalog=ALL, betas={None: Cause.BETA_REJECTED, REDUCED_BETAS: Cause.BETA_REJECTED})
    result = await check_betas(probes(client), CheckSpec("betas", "Betas", None, TIERS.opus))
    assert (result.status, result.cause) == (CheckStatus.FAIL, Cause.BETA_REJECTED)
    assert "Allowed Headers" in result.fix


def test_a_404_behind_a_v1_base_is_blamed_on_the_base_url():
    not_found = CheckResult("prompt.opus", "Opus", CheckStatus.FAIL, Cause.PATH_NOT_FOUND, "404")
    assert blame_v1_base(not_found, True).cause is Cause.BASE_URL_V1
    assert blame_v1_base(not_found, False) is not_found


def test_each_planned_network_check_has_its_function():
    names = {spec: direct_check(CheckSpec(spec, spec)).__name__
             for spec in ("catalog", "prompt.haiku", "tools.opus", "count_tokens", "betas")}
    assert names == {"catalog": "check_catalog", "prompt.haiku": "check_prompt", "tools.opus": "check_tools",
                     "count_tokens": "check_count_tokens", "betas": "check_betas"}
    assert direct_check(CheckSpec("connect", "connect")) is None
