"""The embedded demo gateway (OptScale AI / Bifrost layout on 127.0.0.1) used by `--demo`, the tests and benchmarks."""

from optscale_tui.demo.server import (
    DEFAULT_MODELS,
    DEMO_KEY,
    DEMO_KEY_BUDGET,
    DEMO_KEY_LIMITED,
    DEMO_KEY_OPENAI_ONLY,
    DEMO_ORG_ID,
    FAULT_KINDS,
    DemoGateway,
    Faults,
    KeyPolicy,
    RecordedRequest,
    default_keys,
    demo_reply_text,
)

__all__ = [
    "DEFAULT_MODELS",
    "DEMO_KEY",
    "DEMO_KEY_BUDGET",
    "DEMO_KEY_LIMITED",
    "DEMO_KEY_OPENAI_ONLY",
    "DEMO_ORG_ID",
    "FAULT_KINDS",
    "DemoGateway",
    "Faults",
    "KeyPolicy",
    "RecordedRequest",
    "default_keys",
    "demo_reply_text",
]
