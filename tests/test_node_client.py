"""The node client: URL rules, credentials, retries and timeouts, against the emulator over real HTTP."""

from __future__ import annotations

import email.utils
import json
import random
import time

import pytest
from hypothesis import given, strategies as st

from generator.node.client import (
    Credentials, CredentialsError, NodeAuthError, NodeClient, NodeError, NodeRejected, NodeUnavailable,
    RetryPolicy, Timeouts, clean_jwt, normalize_node_url, parse_retry_after, resolve_credentials,
)
from tests.support.node_helpers import sample_configs


class Sleeps(list):
    """Records the pauses a client asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(node, sleeps=None, **kwargs) -> NodeClient:
    kwargs.setdefault("timeouts", Timeouts(connect=2, read=2))
    return NodeClient(node.url, node.jwt, sleep=sleeps if sleeps is not None else Sleeps(),
                      rng=random.Random(7), **kwargs)


# --------------------------------------------------------------------------- URL and credentials


@pytest.mark.parametrize("given_url, expected", [
    ("datahub-123.sesam.cloud", "https://datahub-123.sesam.cloud/api"),
    ("https://datahub-123.sesam.cloud", "https://datahub-123.sesam.cloud/api"),
    ("https://datahub-123.sesam.cloud/", "https://datahub-123.sesam.cloud/api"),
    ("https://datahub-123.sesam.cloud/api", "https://datahub-123.sesam.cloud/api"),
    ("https://datahub-123.sesam.cloud/api/", "https://datahub-123.sesam.cloud/api"),
    ('"localhost:9042"', "https://localhost:9042/api"),
    ("http://127.0.0.1:9042", "http://127.0.0.1:9042/api"),
])
def test_node_url_is_normalised_like_sesam_py(given_url, expected):
    assert normalize_node_url(given_url) == expected


@pytest.mark.parametrize("raw", ['"tok"', "Bearer tok", "bearer tok", "  tok  ", "'tok'"])
def test_jwt_quotes_and_bearer_prefix_are_stripped(raw):
    assert clean_jwt(raw) == "tok"


def test_flags_win_over_every_other_source(tmp_path):
    (tmp_path / ".syncconfig").write_text("NODE=sync.example\nJWT=sync-token\n")
    env = {"SESAM_NODE": "sesam.example", "SESAM_JWT": "sesam-token", "NODE": "n.example", "JWT": "n-token"}
    creds = resolve_credentials("flag.example", "flag-token", environ=env, cwd=tmp_path)
    assert (creds.node, creds.jwt) == ("https://flag.example/api", "flag-token")
    assert (creds.node_source, creds.jwt_source) == ("--node", "--jwt")


def test_sesam_variables_win_over_node_and_jwt_and_syncconfig(tmp_path):
    (tmp_path / ".syncconfig").write_text("NODE=sync.example\nJWT=sync-token\n")
    env = {"SESAM_NODE": "sesam.example", "SESAM_JWT": "sesam-token", "NODE": "n.example", "JWT": "n-token"}
    creds = resolve_credentials(environ=env, cwd=tmp_path)
    assert (creds.node, creds.jwt) == ("https://sesam.example/api", "sesam-token")


def test_a_syncconfig_that_is_not_utf8_is_a_credentials_error(tmp_path):
    (tmp_path / ".syncconfig").write_bytes(b"NODE=sync.example\nJWT=sync-t\xf8ken\n")
    with pytest.raises(CredentialsError, match=r"cannot read this \.syncconfig \(not UTF-8 text\)"):
        resolve_credentials(environ={}, cwd=tmp_path)


def test_node_and_jwt_variables_win_over_syncconfig(tmp_path):
    (tmp_path / ".syncconfig").write_text("NODE=sync.example\nJWT=sync-token\n")
    creds = resolve_credentials(environ={"NODE": "n.example", "JWT": "n-token"}, cwd=tmp_path)
    assert (creds.node, creds.jwt) == ("https://n.example/api", "n-token")
    assert (creds.node_source, creds.jwt_source) == ("$NODE", "$JWT")


def test_each_value_is_resolved_on_its_own(tmp_path):
    (tmp_path / ".syncconfig").write_text('NODE="sync.example"\nJWT="bearer sync-token"\n')
    creds = resolve_credentials(environ={"SESAM_NODE": "sesam.example"}, cwd=tmp_path)
    assert creds.node == "https://sesam.example/api"
    assert creds.jwt == "sync-token"
    assert creds.jwt_source.startswith(".syncconfig")


def test_syncconfig_is_found_in_a_parent_folder(tmp_path):
    (tmp_path / ".syncconfig").write_text("node=parent.example\njwt=parent-token\n")
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    creds = resolve_credentials(environ={}, cwd=deep)
    assert (creds.node, creds.jwt) == ("https://parent.example/api", "parent-token")


def test_the_nearest_syncconfig_wins(tmp_path):
    (tmp_path / ".syncconfig").write_text("NODE=far.example\nJWT=far\n")
    near = tmp_path / "project"
    near.mkdir()
    (near / ".syncconfig").write_text("NODE=near.example\nJWT=near\n")
    assert resolve_credentials(environ={}, cwd=near).node == "https://near.example/api"


def test_a_json_syncconfig_is_read(tmp_path):
    (tmp_path / ".syncconfig").write_text(json.dumps({"NODE": "json.example", "JWT": "json-token"}))
    creds = resolve_credentials(environ={}, cwd=tmp_path)
    assert (creds.node, creds.jwt) == ("https://json.example/api", "json-token")


def test_no_node_anywhere_is_a_clear_error(tmp_path):
    with pytest.raises(CredentialsError, match="--node.*SESAM_NODE"):
        resolve_credentials(environ={}, cwd=tmp_path)


def test_a_request_without_a_jwt_is_refused_before_sending(sesam_node):
    client = NodeClient(sesam_node.url, None)
    with pytest.raises(CredentialsError, match="no JWT"):
        client.get_config_group("g")
    assert sesam_node.state.requests == []


def test_credentials_and_client_reprs_hide_the_token():
    creds = Credentials("https://x/api", "very-secret-token", "--node", "--jwt")
    assert "very-secret-token" not in repr(creds)
    assert "very-secret-token" not in creds.describe()
    assert "very-secret-token" not in repr(NodeClient("x", "very-secret-token"))


# --------------------------------------------------------------------------- requests


def test_get_config_group_reads_one_group(sesam_node):
    sesam_node.state.seed("mine", sample_configs())
    sesam_node.state.seed("other", [{"_id": "other-pipe", "type": "pipe", "source": {"type": "embedded"}}])
    configs = client_for(sesam_node).get_config_group("mine")
    assert sorted(c["_id"] for c in configs) == sorted(c["_id"] for c in sample_configs())


def test_every_request_carries_the_bearer_token_and_tls_verification(sesam_node, monkeypatch):
    seen = {}
    client = client_for(sesam_node)
    original = client._session.request

    def spy(method, url, **kwargs):
        seen.update(kwargs)
        return original(method, url, **kwargs)

    monkeypatch.setattr(client._session, "request", spy)
    client.get_config_group("g")
    assert seen["verify"] is True
    assert seen["timeout"] == (2, 2)
    prepared = seen["auth"](type("R", (), {"headers": {}})())
    assert prepared.headers["Authorization"] == f"Bearer {sesam_node.jwt}"


def test_a_ca_bundle_is_passed_to_tls_verification(sesam_node, monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not used: the emulator speaks plain HTTP")
    seen = {}
    client = client_for(sesam_node, verify=str(bundle))
    original = client._session.request
    monkeypatch.setattr(client._session, "request",
                        lambda m, u, **kw: seen.update(kw) or original(m, u, **kw))
    client.get_config_group("g")
    assert seen["verify"] == str(bundle)


def test_unknown_token_is_401_and_reported_as_such(sesam_node):
    client = NodeClient(sesam_node.url, "not-the-token", sleep=Sleeps())
    with pytest.raises(NodeAuthError, match="401"):
        client.get_config_group("g")


def test_read_only_token_cannot_write(sesam_node):
    client = NodeClient(sesam_node.url, sesam_node.readonly_jwt, sleep=Sleeps())
    assert client.get_config_group("g") == []
    with pytest.raises(NodeAuthError, match="403.*read-only"):
        client.put_config_group("g", b"[]")


def test_rejected_upload_raises_with_the_validation_errors(sesam_node):
    bad = [{"_id": "p", "type": "pipe", "source": {"type": "embeddded"}}]
    with pytest.raises(NodeRejected) as caught:
        client_for(sesam_node).put_config_group("g", json.dumps(bad).encode())
    [entry] = caught.value.validation_errors
    assert entry["posted-config"]["_id"] == "p"
    assert entry["config-errors"][0]["elements"] == "$['source']['type']"
    assert sesam_node.state.group_configs("g") == []


# --------------------------------------------------------------------------- retries


def test_429_is_retried_after_the_time_retry_after_asks_for(sesam_node):
    sesam_node.faults.rate_limit(retry_after=7, method="GET", times=2)
    sleeps = Sleeps()
    assert client_for(sesam_node, sleeps).get_config_group("g") == []
    assert len(sleeps) == 2
    assert all(7 <= s <= 7.5 for s in sleeps)
    assert sesam_node.state.count("GET", "/config/g") == 3


def test_retry_after_as_an_http_date_is_honoured(sesam_node):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    sesam_node.faults.rate_limit(retry_after=when, method="GET", times=1)
    sleeps = Sleeps()
    client_for(sesam_node, sleeps).get_config_group("g")
    assert 25 <= sleeps[0] <= 31


def test_a_retry_after_beyond_the_bound_ends_with_a_clear_error(sesam_node):
    sesam_node.faults.rate_limit(retry_after=3600, times=1)
    with pytest.raises(NodeUnavailable, match="retry after 3600s"):
        client_for(sesam_node).get_config_group("g")


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_and_unavailable_answers_are_retried_with_backoff(sesam_node, status):
    sesam_node.faults.status(status, times=3)
    sleeps = Sleeps()
    client = client_for(sesam_node, sleeps, retry=RetryPolicy(attempts=5, base=0.5, cap=8))
    assert client.get_config_group("g") == []
    assert len(sleeps) == 3
    for retry, pause in enumerate(sleeps, start=1):
        ceiling = min(8, 0.5 * 2 ** (retry - 1))
        assert ceiling / 2 <= pause <= ceiling


def test_retries_are_bounded_and_the_error_says_how_many(sesam_node):
    sesam_node.faults.unavailable(times=None)
    sleeps = Sleeps()
    with pytest.raises(NodeUnavailable, match="503.*after 3 attempts"):
        client_for(sesam_node, sleeps, retry=RetryPolicy(attempts=3)).get_config_group("g")
    assert len(sleeps) == 2
    assert sesam_node.state.count("GET") == 3


def test_a_dropped_connection_is_retried(sesam_node):
    sesam_node.faults.drop(method="GET", times=1)
    assert client_for(sesam_node).get_config_group("g") == []
    assert sesam_node.state.count("GET") == 2


def test_a_reply_cut_off_halfway_is_retried(sesam_node):
    sesam_node.state.seed("g", sample_configs())
    sesam_node.faults.truncate(method="GET", times=1)
    assert len(client_for(sesam_node).get_config_group("g")) == len(sample_configs())


def test_a_slow_reply_times_out_and_is_retried(sesam_node):
    sesam_node.faults.slow(1.0, method="GET", times=1)
    client = client_for(sesam_node, timeouts=Timeouts(connect=1, read=0.3))
    assert client.get_config_group("g") == []


def test_a_node_that_stays_slow_ends_with_a_clear_error(sesam_node):
    sesam_node.faults.slow(1.0, method="GET", times=None)
    client = client_for(sesam_node, timeouts=Timeouts(connect=1, read=0.2), retry=RetryPolicy(attempts=2))
    with pytest.raises(NodeUnavailable, match="no answer within 0.2s"):
        client.get_config_group("g")


def test_a_put_is_idempotent_and_retried_even_when_the_node_applied_it(sesam_node):
    sesam_node.faults.drop(after_handling=True, method="PUT", times=1)
    body = json.dumps(sample_configs()).encode()
    client_for(sesam_node).put_config_group("g", body)
    assert sesam_node.state.count("PUT") == 2
    assert len(sesam_node.state.group_configs("g")) == len(sample_configs())


def test_a_post_is_not_retried_after_the_node_may_have_seen_it(sesam_node):
    sesam_node.faults.unavailable(method="POST", times=1)
    client = client_for(sesam_node)
    with pytest.raises(NodeUnavailable):
        client.request("POST", client.url("/pipes", "p", "pump"), data={"operation": "start"})
    assert sesam_node.state.count("POST") == 1


def test_a_post_marked_idempotent_is_retried(sesam_node):
    sesam_node.faults.unavailable(method="POST", times=1)
    client_for(sesam_node).post_env({"a": "1"})
    assert sesam_node.state.env == {"a": "1"}


def test_unreachable_node_is_a_clear_error():
    client = NodeClient("http://127.0.0.1:9", "tok", sleep=Sleeps(), retry=RetryPolicy(attempts=2),
                        timeouts=Timeouts(connect=1, read=1))
    with pytest.raises(NodeUnavailable, match="connection failed"):
        client.get_config_group("g")


def test_an_answer_that_is_not_json_is_a_node_error(sesam_node, monkeypatch):
    client = client_for(sesam_node)
    with pytest.raises(NodeError, match="not JSON|404"):
        client.get_json("/no-such-endpoint")


@given(retry=st.integers(min_value=1, max_value=40), seed=st.integers(min_value=0, max_value=2**32))
def test_backoff_is_bounded_and_never_zero(retry, seed):
    policy = RetryPolicy(base=0.5, cap=8.0)
    pause = policy.backoff(retry, random.Random(seed))
    assert 0.25 <= pause <= 8.0


@pytest.mark.parametrize("value, expected", [("0", 0.0), ("12", 12.0), ("-3", 0.0), ("soon", None), (None, None)])
def test_retry_after_values(value, expected):
    assert parse_retry_after(value) == expected
