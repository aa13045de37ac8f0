"""The shared SSL context is reused while the CA files are unchanged, and rebuilt when they change."""

from __future__ import annotations

import os

import pytest
import trustme

from optscale_tui.core.gateway.tls import TrustError, shared_ssl_context


def test_reused_for_the_same_ca_files_and_rebuilt_when_one_changes(tmp_path):
    ca_file = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    env = {"NODE_EXTRA_CA_CERTS": str(ca_file)}
    first = shared_ssl_context(env=env)
    assert shared_ssl_context(env=env) is first
    assert shared_ssl_context(env={}) is not first  # another set of CA files, another context

    other = trustme.CA()
    other.cert_pem.write_to_path(str(ca_file))
    stat = ca_file.stat()
    os.utime(ca_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    rebuilt = shared_ssl_context(env=env)
    assert rebuilt is not first
    assert shared_ssl_context(env=env) is rebuilt


def test_missing_file_still_raises_the_clear_error(tmp_path):
    with pytest.raises(TrustError, match="NODE_EXTRA_CA_CERTS"):
        shared_ssl_context(env={"NODE_EXTRA_CA_CERTS": str(tmp_path / "missing.pem")})
