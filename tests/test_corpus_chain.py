"""The whole Sesam Talk corpus through the chain: import, generate, validate, qa.

Every document imports, the node config generated from all of them validates
without errors, and qa of that config against the documents finds nothing.
Skips cleanly where ../shared/talk-docs is absent.
"""

from __future__ import annotations

import pytest

from generator.build.render import render_config
from generator.qa.run import run_qa
from generator.spec.loader import merge_specs
from generator.talkdoc import import_docs
from generator.util import fsutil
from generator.validation.api import validate_files


@pytest.fixture(scope="module")
def corpus_config(tmp_path_factory):
    from tests.conftest import SHARED

    docs = sorted((SHARED / "talk-docs").glob("*.rst"))
    if not docs:
        pytest.skip("../shared/talk-docs is not present")
    config = merge_specs(import_docs(docs).specs, "talk-corpus")
    rendered = render_config(config)
    folder = tmp_path_factory.mktemp("corpus") / "talk-corpus"
    fsutil.replace_tree(folder, rendered.files)
    return docs, config, rendered, folder


def test_corpus_config_validates(corpus_config):
    _, config, rendered, folder = corpus_config
    assert len(config.flows) > 3000
    errors = [p for p in validate_files(rendered.files, root_label=str(folder)) if p.level == "error"]
    assert errors == []


def test_qa_of_corpus_config_against_its_documents_finds_nothing(corpus_config):
    docs, config, _, folder = corpus_config
    run = run_qa(docs, config=folder)
    assert [f.message for f in run.result.findings] == []
