"""Fuzzing (hypothesis): webhook payloads render any finding as valid JSON, without raising."""

from __future__ import annotations

import json

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tracee import Event, Finding, SignatureMetadata  # noqa: E402
from tracee_output_webhook.payloads import render_falcosidekick, render_rawjson  # noqa: E402
from webhook_testkit import falcosidekick_problems  # noqa: E402

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=10)
findings = st.builds(
    lambda data, comm, ts, severity, args: Finding(
        data, Event("openat", [{"name": f"a{n}", "type": "x", "value": v} for n, v in enumerate(args)],
                    process_name=comm, timestamp=ts),
        SignatureMetadata(id="FUZZ-1", name="fuzz", properties={"Severity": severity})),
    st.one_of(st.none(), st.dictionaries(st.text(max_size=10), values, max_size=4)), values,
    st.one_of(st.integers(min_value=-(2**70), max_value=2**70), values), values, st.lists(values, max_size=3))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(findings)
def test_payloads_of_any_finding_are_json(finding):
    json.loads(render_rawjson(finding))
    body = render_falcosidekick(finding)
    assert falcosidekick_problems(body.encode()) == []
