"""The REST source's paging, against configuration-systems-rest.rst l.300-340 (``next_page_link``,
``next_page_termination_strategy``, ``page_size``): each strategy alone, and paging through a real local
HTTP system that serves pages of two."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.simulate import runner
from generator.simulate.runner import Node, PipeError, _last_page
from generator.simulate.scenario import Simulation

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "specs" / "customerp-crmoffice.yaml"

PAGE = {"link": "https://x.invalid/p?page=1", "body": {"items": [1, 2]}, "params": {}}


@pytest.mark.parametrize("strategy, link, items, body, previous, ends", [
    # "next-page-link-empty" will terminate if this template evaluates to null or an empty string
    ("next-page-link-empty", "https://x.invalid/p?page=2", [1], {}, PAGE, False),
    # "empty-result" will terminate pagination when the result evaluates to missing or empty
    ("empty-result", "https://x.invalid/p?page=2", [], {}, PAGE, True),
    ("empty-result", "https://x.invalid/p?page=2", [3], {}, PAGE, False),
    # "same-next-page-link" terminates if the computed next_page_link value matches the previous one
    ("same-next-page-link", "https://x.invalid/p?page=1", [3], {}, PAGE, True),
    ("same-next-page-link", "https://x.invalid/p?page=2", [3], {}, PAGE, False),
    # "same-response" terminates paging if the response is equal to the previous one
    ("same-response", "https://x.invalid/p?page=2", [1, 2], {"items": [1, 2]}, PAGE, True),
    ("same-response", "https://x.invalid/p?page=2", [3], {"items": [3]}, PAGE, False),
    # the ones that compare with the page before do not end the first page
    ("same-next-page-link", "https://x.invalid/p?page=1", [1], {}, {}, False),
    ("same-response", "https://x.invalid/p?page=2", [1, 2], {"items": [1, 2]}, {}, False),
])
def test_each_termination_strategy_alone(strategy, link, items, body, previous, ends):
    assert _last_page([strategy], {}, link, items, body, previous, False) is ends


@pytest.mark.parametrize("same_request", [True, False])
def test_same_next_page_request_ends_where_the_request_would_repeat(same_request):
    # "terminates paging if the component detects that request to issue is identical to the previous
    # request"; the caller compares the two as the system receives them (absolute URLs, parameters)
    assert _last_page(["same-next-page-request"], {}, "next", [1], {}, {}, same_request) is same_request


def test_not_full_page_needs_page_size_and_ends_on_a_short_page():
    # "terminates paging if the last response contained less entities than the specified page_size"
    assert _last_page(["not-full-page"], {"page_size": 2}, "next", [1], {}, {}, False) is True
    assert _last_page(["not-full-page"], {"page_size": 2}, "next", [1, 2], {}, {}, False) is False
    assert _last_page(["not-full-page"], {}, "next", [1], {}, {}, False) is False


def test_a_link_that_renders_empty_ends_paging_under_any_strategy():
    assert _last_page(["same-response"], {}, "", [1], {}, {}, False) is True
    assert _last_page(["empty-result"], {}, None, [1], {}, {}, False) is True


SYSTEM = {"_id": "crm", "type": "system:rest", "url_pattern": "https://crm.invalid/%s",
          "headers": {"Authorization": "Bearer $SECRET(token)"}, "operations": {}}


def _read(sim: Simulation, list_op: dict) -> tuple[list[str], int]:
    """Read the stand-in's five contacts with ``list_op``: the ids read, and the list requests made."""
    system = sim.systems["crmoffice"]
    for n in range(5):
        system.insert("contacts", {"name": f"c{n}"})
    files = {"systems/crm.conf.json": json.dumps({**SYSTEM, "operations": {"list": list_op}}),
             "pipes/crm-all.conf.json": json.dumps(
                 {"_id": "crm-all", "type": "pipe", "source": {"type": "rest", "system": "crm", "operation": "list"}})}
    node = Node(files, {"crm": system})
    try:
        report = node.run_pipe("crm-all")
        node.store.flush()
        if report.error:
            raise PipeError(report.error)
        return sorted(node.store.dataset("crm-all").latest), report.requests.get("list", 0)
    finally:
        node.close()


LIST = {"method": "GET", "url": "contacts", "payload_property": "items", "id_expression": "{{ id }}"}


@pytest.fixture
def sim():
    with Simulation.from_specs([SEED], page_size=2) as sim:  # the stand-in serves pages of two
        yield sim


def test_the_default_strategies_read_every_page(sim):
    assert _read(sim, {**LIST, "next_page_link": "{{ body.next }}"}) == (["1", "2", "3", "4", "5"], 3)


def test_page_and_is_first_page_are_bound_in_next_page_link(sim):
    # "page (integer, starting at 0) and is_first_page (a boolean flag) are available for all requests"
    assert _read(sim, {**LIST, "next_page_link": "{% if is_first_page %}{{ body.next }}{% endif %}"}) \
        == (["1", "2", "3", "4"], 2)
    assert _read(sim, {**LIST, "next_page_link": "{% if page < 2 %}{{ body.next }}{% endif %}"})[1] == 3


def test_not_full_page_ends_on_a_short_page_where_the_link_never_renders_empty(sim):
    # Five contacts in pages of two, and a link that always renders: the third page holds one, and
    # "not-full-page" ends there.
    assert _read(sim, {**LIST, "next_page_link": "contacts?page={{ page + 1 }}", "page_size": 2,
                       "next_page_termination_strategy": ["not-full-page"]}) == (["1", "2", "3", "4", "5"], 3)


@pytest.mark.parametrize("link", ["contacts", "{{ body.next.split('?')[0] }}"], ids=["relative", "absolute"])
def test_the_default_strategies_do_not_issue_the_same_request_twice(sim, link):
    # A link back to the page just read, written relative or absolute: "same-next-page-request", a default,
    # ends paging before a second request (the same response would end it only after one).
    assert _read(sim, {**LIST, "next_page_link": link}) == (["1", "2"], 1)


def test_a_page_size_that_is_no_integer_fails_the_pipe(sim):
    # "page_size: Integer. An integer indicating the number of entities contained in a paged response"
    with pytest.raises(PipeError, match="page_size must be an integer"):
        _read(sim, {**LIST, "next_page_link": "{{ body.next }}", "page_size": "2"})


def test_page_size_is_substituted_in_the_operation(sim):
    # "When the page_size is set, the value will substitute any instances of {{ page_size }}"; the stand-in
    # serves /contacts only, so a URL rendered without it is a 404 and fails the pipe.
    op = {**LIST, "url": "{{ 'contacts' if page_size == 2 else 'no-page-size' }}", "next_page_link": "{{ body.next }}"}
    assert _read(sim, {**op, "page_size": 2}) == (["1", "2", "3", "4", "5"], 3)
    with pytest.raises(PipeError, match="HTTP 404"):
        _read(sim, op)


def test_paging_that_never_ends_fails_the_pipe_naming_the_operation(sim, monkeypatch):
    # A link that always renders, under a strategy that this system never meets: the node would read for
    # ever; the simulator fails the pipe after MAX_PAGES.
    monkeypatch.setattr(runner, "MAX_PAGES", 4)
    with pytest.raises(PipeError, match=r"list: paging did not end after 4 pages"):
        _read(sim, {**LIST, "next_page_link": "contacts?page={{ page + 1 }}",
                    "next_page_termination_strategy": ["same-next-page-link"]})
