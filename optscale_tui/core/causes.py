"""The closed set of diagnoses. Every failure the product reports carries one of these ids.

The ids are a public contract: they appear in `verify --json`, in the TUI and in tests. Add new ones, never rename.
Messages say what is wrong in plain words; fixes say what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Cause(StrEnum):
    DNS = "dns"
    CONNECT = "connect"
    TIMEOUT = "timeout"
    TLS_UNTRUSTED = "tls_untrusted"
    TLS_EXPIRED = "tls_expired"
    TLS_HOSTNAME = "tls_hostname"
    INSECURE_HTTP = "insecure_http"
    AUTH_INVALID_KEY = "auth_invalid_key"
    PROVIDER_NOT_ALLOWED = "provider_not_allowed"
    MODEL_NOT_ALLOWED = "model_not_allowed"
    MODEL_UNKNOWN = "model_unknown"
    PATH_NOT_FOUND = "path_not_found"
    BASE_URL_V1 = "base_url_v1"
    BETA_REJECTED = "beta_rejected"
    BUDGET_EXCEEDED = "budget_exceeded"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    BAD_RESPONSE = "bad_response"
    STREAM_CUT = "stream_cut"
    RESPONSE_TOO_LARGE = "response_too_large"
    TIER_UNMAPPED = "tier_unmapped"
    SHELL_API_KEY = "shell_api_key"
    PROJECT_OVERRIDE = "project_override"
    CONFIG_DIR_OVERRIDE = "config_dir_override"
    MANAGED_LOGIN_REQUIRED = "managed_login_required"
    CLAUDE_LOGIN_PRESENT = "claude_login_present"
    SETTINGS_INVALID = "settings_invalid"
    API_KEY_HELPER_FAILED = "api_key_helper_failed"
    API_KEY_HELPER_EMPTY = "api_key_helper_empty"
    KEY_WHITESPACE = "key_whitespace"
    KEY_SENT_ELSEWHERE = "key_sent_elsewhere"
    DESKTOP_MODEL_REJECTED = "desktop_model_rejected"
    DESKTOP_MANAGED_OVERRIDE = "desktop_managed_override"
    DESKTOP_RUNNING = "desktop_running"
    DESKTOP_LOG_ERROR = "desktop_log_error"
    # The settings file (or a backup) could not be used or written for a reason that is not its JSON.
    SETTINGS_NOT_A_FILE = "settings_not_a_file"
    SETTINGS_TOO_LARGE = "settings_too_large"
    SETTINGS_CHANGED = "settings_changed"
    SETTINGS_READ_ONLY = "settings_read_only"
    PERMISSION_DENIED = "permission_denied"
    FILESYSTEM_READ_ONLY = "filesystem_read_only"
    DISK_FULL = "disk_full"
    FILE_IO_ERROR = "file_io_error"
    BACKUP_BROKEN = "backup_broken"


@dataclass(frozen=True, slots=True)
class CauseInfo:
    cause: Cause
    title: str
    message: str
    fix: str  # what to do, in the CLI's words
    tui_fix: str  # the same in the TUI's words (where in the app); the CLI's when they agree


_TABLE: dict[Cause, tuple[str, str, str]] = {
    Cause.DNS: (
        "Host name not found",
        "The gateway's host name does not resolve from this machine.",
        "Check the host in the Base URL for typos; on a VPN-only cluster, connect the VPN first.",
    ),
    Cause.CONNECT: (
        "Gateway unreachable",
        "Nothing accepted the connection at the gateway's address and port.",
        "Check the host and port in the Base URL, and that a firewall or proxy lets this machine reach it "
        "(HTTPS_PROXY / NO_PROXY are honoured).",
    ),
    Cause.TIMEOUT: (
        "Gateway too slow",
        "The gateway did not answer within the time limit.",
        "Try again; if it keeps happening, check the gateway's health in OptScale or raise the timeout.",
    ),
    Cause.TLS_UNTRUSTED: (
        "Certificate not trusted",
        "The gateway's TLS certificate is signed by an authority this machine does not trust.",
        "Install your organisation's CA in the system store, or pass it with --ca-bundle PATH; "
        "for Claude Code also export NODE_EXTRA_CA_CERTS=PATH in your shell (it is ignored in settings.json).",
    ),
    Cause.TLS_EXPIRED: (
        "Certificate expired",
        "The gateway's TLS certificate has expired (or this machine's clock is wrong).",
        "Ask the cluster administrator to renew the certificate; check the system clock with `date`.",
    ),
    Cause.TLS_HOSTNAME: (
        "Certificate is for another host",
        "The gateway's TLS certificate does not cover the host name in the Base URL.",
        "Use the exact host name shown in OptScale Chat, not an IP address or an alias.",
    ),
    Cause.INSECURE_HTTP: (
        "Plain http:// to a remote host",
        "The Base URL uses http://, so the API key would travel unencrypted.",
        "Use the https:// Base URL from OptScale Chat. Plain http:// is only accepted for 127.0.0.1/localhost.",
    ),
    Cause.AUTH_INVALID_KEY: (
        "API key rejected",
        "The gateway does not accept this API key (unknown, revoked or mistyped virtual key). "
        "Claude Code retries for about three minutes before it says so (\"Failed to authenticate. API Error: 401\").",
        "Copy the API key again from OptScale Chat → Connect this model to external tools → OPENAI-COMPATIBLE, "
        "or ask your admin to re-issue it in AI Access.",
    ),
    Cause.PROVIDER_NOT_ALLOWED: (
        "Provider not allowed for this key",
        "The key is valid, but it may not use this model's provider: the model's provider is not among the "
        "providers allowed for this key.",
        "Pick a model from an allowed provider, or ask your OptScale admin to allow this provider in AI Access.",
    ),
    Cause.MODEL_NOT_ALLOWED: (
        "Model not allowed for this key",
        "The key is valid, but this model is blocked for it.",
        "Map the tier to a model from the catalog this key sees, or ask your admin to allow the model.",
    ),
    Cause.MODEL_UNKNOWN: (
        "Model not found",
        "The gateway does not know this model name. Claude Code reports this as "
        "\"There's an issue with the selected model\".",
        "Pick the exact model name from the gateway catalog (e.g. anthropic/claude-sonnet-4-6).",
    ),
    Cause.PATH_NOT_FOUND: (
        "Wrong gateway path",
        "The gateway answered 404 for the API path itself, so the Base URL is wrong. Claude Code shows the same "
        "\"issue with the selected model\" text here, which hides the real cause.",
        "Use the Base URL from OptScale Chat with /v1 replaced by /anthropic: https://HOST/llm_proxy/<org-id>/anthropic",
    ),
    Cause.BASE_URL_V1: (
        "Base URL still ends in /v1",
        "ANTHROPIC_BASE_URL ends in /v1; Claude Code appends /v1/messages, so requests go to …/v1/v1/messages.",
        "Replace the trailing /v1 with /anthropic.",
    ),
    Cause.BETA_REJECTED: (
        "Gateway rejects Claude Code's beta headers",
        "Plain requests work, but the gateway answers 400 when the anthropic-beta header Claude Code sends is present.",
        "Add CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1 to the env block, or ask the admin to forward anthropic-beta.",
    ),
    Cause.BUDGET_EXCEEDED: (
        "Budget exhausted",
        "The gateway refused the request because this key's or team's budget is used up.",
        "Ask your OptScale admin to raise the budget in AI Access, or wait for the budget period to reset.",
    ),
    Cause.RATE_LIMITED: (
        "Rate limited",
        "The gateway or the provider is throttling requests for this key.",
        "Wait a minute and retry; if it persists, ask the admin about the key's request and token limits.",
    ),
    Cause.SERVER_ERROR: (
        "Gateway error",
        "The gateway or the provider behind it failed (5xx).",
        "Retry in a moment; if it persists, look the check's request id up in OptScale Traces and tell your admin.",
    ),
    Cause.BAD_RESPONSE: (
        "Not an Anthropic API response",
        "Something answered, but not with the Anthropic Messages format (for example an HTML error page from a proxy).",
        "Check the Base URL points at the OptScale gateway (…/llm_proxy/<org-id>/anthropic) and not at a login page "
        "or a corporate proxy.",
    ),
    Cause.STREAM_CUT: (
        "Stream ended early",
        "The streamed reply stopped before message_stop; a proxy or load balancer may be cutting long responses.",
        "Retry; if it repeats, ask the admin to disable response buffering and idle timeouts for SSE on the gateway.",
    ),
    Cause.RESPONSE_TOO_LARGE: (
        "Answer too large",
        "The gateway's answer went past the size optscale-tui reads for it (after decompression), so it stopped "
        "reading: a model catalog over 32 MiB, a reply that never ends, or a compressed \"bomb\".",
        "If the key's model catalog really is this large, ask your OptScale admin to limit the models it may use; "
        "otherwise what answers at this address is not behaving like the OptScale gateway.",
    ),
    Cause.TIER_UNMAPPED: (
        "A Claude Code tier has no model",
        "Without ANTHROPIC_DEFAULT_OPUS_MODEL (or `model` / ANTHROPIC_MODEL), Claude Code's default session sends its "
        "built-in model name (e.g. claude-opus-5-5), which the gateway does not know.",
        "Map the Opus tier (and ideally all three) to models from the gateway catalog.",
    ),
    Cause.SHELL_API_KEY: (
        "ANTHROPIC_API_KEY is also set",
        "ANTHROPIC_API_KEY is set next to the gateway token, so Claude Code sends both an x-api-key and a Bearer header.",
        "Unset ANTHROPIC_API_KEY in your shell profile (or remove it from the settings env block).",
    ),
    Cause.PROJECT_OVERRIDE: (
        "Project settings override yours",
        "A .claude/settings.json or settings.local.json in this folder sets the same variables, and wins over the "
        "user settings file.",
        "Remove the gateway keys from the project file, or apply the connection to that scope instead.",
    ),
    Cause.CONFIG_DIR_OVERRIDE: (
        "CLAUDE_CONFIG_DIR is set",
        "CLAUDE_CONFIG_DIR is set, so Claude Code reads $CLAUDE_CONFIG_DIR/settings.json and ignores ~/.claude.",
        "Make sure that is intended; the settings are written to the file Claude Code really reads.",
    ),
    Cause.MANAGED_LOGIN_REQUIRED: (
        "Managed settings force a login",
        "Managed settings set forceLoginMethod / forceLoginOrgUUID, which conflict with gateway credentials.",
        "Ask the administrator who manages this machine to lift the login requirement for gateway users.",
    ),
    Cause.CLAUDE_LOGIN_PRESENT: (
        "A claude.ai login is stored",
        "Claude Code also holds a claude.ai / Console login; it may warn about an auth conflict.",
        "Run `claude auth logout` (the gateway keys in settings.json stay). `claude logout` is not a command.",
    ),
    Cause.SETTINGS_INVALID: (
        "Settings file does not parse",
        "Claude Code silently ignores a settings file that is not valid JSON, and then says \"Not logged in\".",
        "Correct the JSON at the line and column shown; optscale-tui never rewrites a file it cannot parse.",
    ),
    Cause.API_KEY_HELPER_FAILED: (
        "apiKeyHelper failed",
        "The apiKeyHelper command in the settings failed, so Claude Code has no key to send to the gateway.",
        "Run the apiKeyHelper command yourself and fix what it reports, or save the API key from OptScale Chat "
        "as ANTHROPIC_AUTH_TOKEN instead.",
    ),
    Cause.API_KEY_HELPER_EMPTY: (
        "apiKeyHelper printed no key",
        "The apiKeyHelper command ran but printed nothing, so Claude Code has no key to send to the gateway.",
        "Make the apiKeyHelper command print the API key from OptScale Chat, or save the key as "
        "ANTHROPIC_AUTH_TOKEN instead.",
    ),
    Cause.KEY_WHITESPACE: (
        "Spaces around the stored key",
        "The stored API key has spaces or a line break before or after it. The gateway sees it trimmed, so it works, "
        "but other tools reading the same value may send it as it is.",
        "Trim the stored key (optscale-tui fix key_whitespace).",
    ),
    Cause.KEY_SENT_ELSEWHERE: (
        "Your key would go to another host",
        "ANTHROPIC_BASE_URL and the API key come from different settings, and the URL points to another host than "
        "the one the key was saved for, so Claude Code would send your key there. optscale-tui did not send it.",
        "Remove the ANTHROPIC_BASE_URL override from the file that sets it (usually the project's "
        ".claude/settings.json or settings.local.json), or, if that host is right, save the key for it in the same "
        "file.",
    ),
    Cause.DESKTOP_MODEL_REJECTED: (
        "Claude Desktop rejects this model name",
        "Recent Claude Desktop builds accept only model names that reference an Anthropic model (claude, sonnet, "
        "opus, haiku or anthropic in the name); one such entry is reported to make Desktop reject the whole list.",
        "Map the tier to a Claude model from the gateway catalog (the nearest one is named above).",
    ),
    Cause.DESKTOP_MANAGED_OVERRIDE: (
        "Managed configuration overrides Claude Desktop's",
        "An administrator's managed configuration for Claude Desktop is present; it wins over the local "
        "configuration this app writes.",
        "Ask the administrator who manages this machine to deploy the gateway there (optscale-tui desktop export "
        "makes the file), or to remove the managed keys.",
    ),
    Cause.DESKTOP_RUNNING: (
        "Claude Desktop is running",
        "Claude Desktop reads its configuration once, at launch: the running app still uses the old one.",
        "Quit Claude Desktop fully (from its menu or tray icon, not only its window) and open it again.",
    ),
    Cause.DESKTOP_LOG_ERROR: (
        "Claude Desktop reported a problem",
        "Claude Desktop's own log has a [custom-3p] error since its configuration was written.",
        "Read the log lines shown; run optscale-tui desktop verify to probe the same URL, key and models.",
    ),
    Cause.SETTINGS_NOT_A_FILE: (
        "Settings path is not a regular file",
        "The settings path (or the target of its symbolic link) is a folder, a device, a FIFO, a socket or a loop of "
        "symbolic links, not a regular file. optscale-tui neither reads nor replaces such a thing.",
        "Point --settings (or the symbolic link) at a regular JSON file, or move what is there aside and run again.",
    ),
    Cause.SETTINGS_TOO_LARGE: (
        "Settings file too large",
        "The settings file is larger, or nested deeper, than optscale-tui edits safely (a settings file is normally a "
        "few kilobytes).",
        "Move the bulky or deeply nested data out of the settings file, then run again.",
    ),
    Cause.SETTINGS_CHANGED: (
        "Settings file changed on disk",
        "Another program changed, created or deleted the settings file after it was read; saving would have "
        "overwritten that change, so nothing was written.",
        "Reload the file and review the changes again, then save.",
    ),
    Cause.SETTINGS_READ_ONLY: (
        "Settings file is read-only",
        "The settings file's permissions make it read-only (e.g. 0444): someone may have locked it on purpose.",
        "Confirm the rewrite: add --force on the command line (the file is then written private, 0600), or make it "
        "writable yourself (chmod u+w).",
    ),
    Cause.PERMISSION_DENIED: (
        "Permission denied",
        "The operating system refused access to the settings file, its folder or its backup folder.",
        "Check who owns the file and its folder (ls -l) and run as that user, or fix the permissions.",
    ),
    Cause.FILESYSTEM_READ_ONLY: (
        "Read-only file system",
        "The settings file lives on a file system mounted read-only, so nothing can be written there.",
        "Remount the file system read-write, or point --settings / CLAUDE_CONFIG_DIR at a writable place.",
    ),
    Cause.DISK_FULL: (
        "Disk full",
        "There is no space left (or the quota is used up) where the settings file or its backups are written; "
        "nothing was changed.",
        "Free some space on that file system (df -h shows which one), then save again.",
    ),
    Cause.FILE_IO_ERROR: (
        "File could not be read or written",
        "The operating system reported an error while reading or writing the settings file or a backup; nothing "
        "was changed.",
        "Check the disk and the path named in the message, then try again.",
    ),
    Cause.BACKUP_BROKEN: (
        "Backup is broken",
        "This backup does not match the checksum recorded when it was made, or is not a valid settings file, so "
        "restoring it could destroy the settings.",
        "Pick another backup: the list marks the broken ones (`optscale-tui restore`, or Backups (F7) in the app); "
        "the broken file is left as it is.",
    ),
}

# The TUI's column: the same fixes as the app says them, naming where in the app to do it instead of a CLI command
# or flag (CauseInfo.tui_fix; a cause without one here reads the same in both). The app shows it only for a result
# that carries the generic fix: a fix written for its case stays as written.
_CONNECT_PANE = "Go to step 1, Connect (F2)"
_MODELS_PANE = "Go to step 2, Models (F3)"
_FIX_IT = "Press f (Fix it) to"
_TUI_FIXES: dict[Cause, str] = {
    Cause.DNS: f"{_CONNECT_PANE}, and check the host in the Base URL for typos; on a VPN-only cluster, connect the VPN first.",
    Cause.CONNECT: f"{_CONNECT_PANE}, and check the host and port in the Base URL; also that a firewall or proxy lets this "
                   "machine reach it (HTTPS_PROXY / NO_PROXY are honoured).",
    Cause.TLS_HOSTNAME: f"{_CONNECT_PANE}, and use the exact host name shown in OptScale Chat, not an IP address or an alias.",
    Cause.INSECURE_HTTP: f"{_CONNECT_PANE}, and paste the https:// Base URL from OptScale Chat. Plain http:// is only "
                         "accepted for 127.0.0.1/localhost.",
    Cause.BAD_RESPONSE: f"{_CONNECT_PANE}, and check the Base URL points at the OptScale gateway (…/llm_proxy/<org-id>/v1) "
                        "and not at a login page or a corporate proxy.",
    Cause.RATE_LIMITED: "Wait a minute and retry (. re-runs this check); if it persists, ask the admin about the key's "
                        "request and token limits.",
    Cause.STREAM_CUT: "Retry (. re-runs this check); if it repeats, ask the admin to disable response buffering and "
                      "idle timeouts for SSE on the gateway.",
    Cause.SHELL_API_KEY: "If it is in a settings file's env block, press f (Fix it) to remove it; if your shell exports "
                         "it, unset it in your shell profile.",
    Cause.PROJECT_OVERRIDE: f"{_FIX_IT} remove the gateway keys from the project file, or quit and start optscale-tui "
                            "--scope project (or local) to write the connection there instead.",
    Cause.SETTINGS_INVALID: "Correct the JSON at the line and column shown in an editor, then run the checks again (r); "
                            "optscale-tui never rewrites a file it cannot parse.",
    Cause.TIMEOUT: "Try again (r, or . for this check); if it keeps happening, check the gateway's health in OptScale.",
    Cause.SETTINGS_NOT_A_FILE: "Make the settings path (or its symbolic link's target) a regular JSON file, or move "
                               "what is there aside, then run the checks again (r); or quit and start optscale-tui "
                               "--settings PATH with a regular file.",
    Cause.SETTINGS_READ_ONLY: "Go to step 3, Review (F4), press w and confirm the rewrite (the file is then written "
                              "private, 0600), or make the file writable yourself (chmod u+w).",
    Cause.FILESYSTEM_READ_ONLY: "Remount the file system read-write, or quit and start optscale-tui --settings PATH "
                                "(or with CLAUDE_CONFIG_DIR set) to write to a writable place.",
    Cause.TLS_UNTRUSTED: "Install your organisation's CA in the system store, or quit and start optscale-tui "
                         "--ca-bundle PATH; for Claude Code also export NODE_EXTRA_CA_CERTS=PATH in your shell (it is "
                         "ignored in settings.json).",
    Cause.TLS_EXPIRED: "Ask the cluster administrator to renew the certificate; check this machine's clock.",
    Cause.AUTH_INVALID_KEY: f"{_CONNECT_PANE}, and paste the API key again from OptScale Chat → Connect this model to "
                            "external tools → OPENAI-COMPATIBLE, or ask your admin to re-issue it in AI Access.",
    Cause.PROVIDER_NOT_ALLOWED: f"{_MODELS_PANE}, and pick a model from a provider this key may use, or ask your OptScale "
                                "admin to allow this provider in AI Access.",
    Cause.MODEL_NOT_ALLOWED: f"{_MODELS_PANE}, and map the tier to a model from the catalog this key sees, or ask your admin "
                             "to allow the model.",
    Cause.MODEL_UNKNOWN: f"{_MODELS_PANE}, and pick the exact model name from the gateway catalog.",
    Cause.PATH_NOT_FOUND: f"{_CONNECT_PANE}, and paste the Base URL from OptScale Chat (…/llm_proxy/<org-id>/v1; it is "
                          "saved with /anthropic).",
    Cause.BASE_URL_V1: "Press f (Fix it) to replace the trailing /v1 with /anthropic, or enter the Base URL again on "
                       "step 1, Connect (F2).",
    Cause.BETA_REJECTED: f"{_FIX_IT} add CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1, or tick “Turn off experimental "
                         f"betas” on step 2, Models (F3); or ask the admin to forward anthropic-beta.",
    Cause.SERVER_ERROR: "Retry in a moment (. re-runs this check); if it persists, look its request id up in OptScale "
                        "Traces (this pane lists the ids under its Traces title, with where and when to look; t "
                        "shows them on a narrow screen) and tell your admin.",
    Cause.TIER_UNMAPPED: f"{_FIX_IT} map the unmapped tiers, or go to step 2, Models (F3), and map the Opus tier (and "
                         "ideally all three) to models from the gateway catalog.",
    Cause.CLAUDE_LOGIN_PRESENT: "In a terminal, run `claude auth logout` (the gateway keys in settings.json stay).",
    Cause.KEY_SENT_ELSEWHERE: f"{_FIX_IT} remove the gateway keys from the project file that points your key at "
                              "another host; if that host is right, quit and start optscale-tui --scope project (or "
                              "local) to save the key there too.",
}

CAUSES: dict[Cause, CauseInfo] = {
    c: CauseInfo(c, *_TABLE[c], tui_fix=_TUI_FIXES.get(c, _TABLE[c][2])) for c in Cause
}


def describe(cause: Cause | str) -> CauseInfo:
    """The plain-words message and fix for a cause id."""
    return CAUSES[Cause(cause)]
