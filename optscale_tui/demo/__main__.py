"""Run the demo gateway on its own: ``python -m optscale_tui.demo [--port N] [--tls-cert C --tls-key K]``.

Prints the base URLs and the demo keys (fake, public constants that only work against this server), then serves
until Ctrl-C or SIGTERM. ``--json`` prints the same facts as one JSON line instead, for scripts and e2e tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from optscale_tui.demo.server import (
    DEMO_KEY,
    DEMO_KEY_BUDGET,
    DEMO_KEY_LIMITED,
    DEMO_KEY_OPENAI_ONLY,
    DEMO_ORG_ID,
    FAULT_KINDS,
    DemoGateway,
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m optscale_tui.demo",
        description="A local demo of an OptScale AI gateway (Bifrost layout) with fake virtual keys.",
    )
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default 0 = any free port)")
    p.add_argument("--org-id", default=DEMO_ORG_ID, help="organization id in the /llm_proxy/<org>/ path")
    p.add_argument("--tls-cert", type=Path, help="PEM certificate (chain) to serve HTTPS with")
    p.add_argument(
        "--tls-key", type=Path, help="PEM private key for --tls-cert (omit if the cert file has it)"
    )
    faults = p.add_argument_group("faults")
    faults.add_argument("--latency-ms", type=float, default=0, help="delay before every response's headers")
    faults.add_argument("--ttft-ms", type=float, default=0, help="delay before the first streamed token")
    faults.add_argument("--chunk-delay-ms", type=float, default=0, help="delay between streamed tokens")
    faults.add_argument(
        "--force-kind", choices=FAULT_KINDS, help="answer models/messages routes with this error"
    )
    faults.add_argument(
        "--reject-beta", action="store_true", help="400 when an anthropic-beta header is sent"
    )
    faults.add_argument("--stream-chunks", type=int, default=None,
                        help="stream exactly N text deltas per reply (benchmarks)")
    faults.add_argument("--models-route-missing", action="store_true", help="GET …/v1/models answers 404")
    p.add_argument("--json", action="store_true", help="print the URLs and keys as one JSON line")
    p.add_argument("-v", "--verbose", action="store_true", help="log each request (never the keys) to stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if (args.tls_key is not None) and args.tls_cert is None:
        print("error: --tls-key needs --tls-cert", file=sys.stderr)
        return 2
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        gateway = _start(args)
    except (OSError, ValueError) as exc:
        print(f"error: cannot start the demo gateway: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        _print_facts(gateway, as_json=args.json)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        gateway.stop()
    if not args.json:
        print("demo gateway stopped", flush=True)
    return 0


def _start(args: argparse.Namespace) -> DemoGateway:
    """The gateway with the fault flags set, serving. OSError: the port is taken; ValueError: not loopback."""
    gateway = DemoGateway(
        host=args.host, port=args.port, org_id=args.org_id, certfile=args.tls_cert, keyfile=args.tls_key
    )
    gateway.faults.latency_ms = args.latency_ms
    gateway.faults.ttft_ms = args.ttft_ms
    gateway.faults.chunk_delay_ms = args.chunk_delay_ms
    gateway.faults.force_kind = args.force_kind
    gateway.faults.reject_beta = args.reject_beta
    gateway.faults.models_route_missing = args.models_route_missing
    gateway.faults.stream_chunks = args.stream_chunks
    return gateway.start()


def _print_facts(gateway: DemoGateway, *, as_json: bool) -> None:
    """The URLs and the demo keys: one JSON line for scripts, or a few lines for a person."""
    if as_json:
        print(
            json.dumps(
                {
                    "base_url": gateway.base_url,
                    "anthropic_url": gateway.anthropic_url,
                    "org_id": gateway.org_id,
                    "port": gateway.port,
                    "api_key": DEMO_KEY,
                    "keys": {
                        "all_models": DEMO_KEY,
                        "anthropic_sonnet_haiku_only": DEMO_KEY_LIMITED,
                        "budget_exceeded": DEMO_KEY_BUDGET,
                        "openai_only": DEMO_KEY_OPENAI_ONLY,
                    },
                    "models": gateway.models,
                }
            ),
            flush=True,
        )
        return
    print(
        "OptScale demo gateway running (Ctrl-C to stop)\n"
        f"  Base URL (OpenAI-compatible, as OptScale Chat shows it): {gateway.base_url}\n"
        f"  ANTHROPIC_BASE_URL for Claude Code:                     {gateway.anthropic_url}\n"
        f"  API key, all models:                  {DEMO_KEY}\n"
        f"  API key, Anthropic Sonnet/Haiku only: {DEMO_KEY_LIMITED}\n"
        f"  API key, budget exhausted:            {DEMO_KEY_BUDGET}\n"
        f"  API key, OpenAI models only:          {DEMO_KEY_OPENAI_ONLY}\n"
        f"  Models: {', '.join(gateway.models)}\n"
        "  (These keys are fake demo values; they only work against this server.)",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
