"""``myositis import redcap https://.../api/``: the project read through PyCap from a REDCap
server that this test plays itself. The transport is a ``requests`` adapter answering from the
SYNTHETIC template export (examples/redcap/template-export) as REDCap's API does (metadata with
the API's column names, project information, instrument-event mapping, events, records as
flat raw CSV filtered by ``records[i]``); the real HTTP adapter is made to fail, so no test
can touch the network."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from myositis.errors import SourceError
from myositis.registry import connect
from myositis.registry.fingerprint import data_fingerprint
from myositis.sources.redcap import Reader
from myositis.sources.redcap.api import TOKEN_ENV
from myositis.sources.redcap.dictionary import COLUMNS
from myositis.sources.write import write_import

from .conftest import TEMPLATE_EXPORT, read_only, read_rows, set_cell

URL = "https://redcap.example.org/api/"
TOKEN = "0123456789ABCDEF0123456789ABCDEF"


class FakeRedcap(BaseAdapter):
    """A REDCap project's API, answering from an export folder."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.asked: list[tuple[str, str, list[str]]] = []  # content, format, records

    def _csv(self, name: str) -> str:
        return (self.folder / name).read_text(encoding="utf-8")

    def _answer(self, form: dict[str, list[str]]) -> tuple[int, str]:
        if form.get("token") != [TOKEN]:
            return 403, '{"error": "You do not have permissions to use the API"}'
        content, fmt = form["content"][0], form.get("format", ["xml"])[0]
        records = [v[0] for k, v in sorted(form.items()) if k.startswith("records[")]
        self.asked.append((content, fmt, records))
        if content == "project":
            return 200, json.dumps(
                {"project_id": 7, "project_title": "Myositis registry", "is_longitudinal": 1}
            )
        if content == "metadata":  # the API names the dictionary's columns field_name, ...
            rows = read_rows(self.folder / "dictionary.csv")
            names = [api for _, api in COLUMNS]
            if fmt == "json":
                return 200, json.dumps([dict(zip(names, r, strict=True)) for r in rows[1:]])
            return 200, _text([names, *rows[1:]])
        if content == "formEventMapping":
            return 200, self._csv("instrument_event_mapping.csv")
        if content == "event":
            return 200, self._csv("events.csv")
        if content == "record":
            rows = read_rows(self.folder / "records.csv")
            if fmt == "json":
                return 200, json.dumps(
                    [{"record_id": r[0], "redcap_event_name": r[1]} for r in rows[1:]]
                )
            wanted = set(records)
            return 200, _text([rows[0], *(r for r in rows[1:] if r[0] in wanted)])
        return 400, '{"error": "not played by this test"}'

    def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
        status, text = self._answer(parse_qs(request.body, keep_blank_values=True))
        response = requests.Response()
        response.status_code = status
        response._content = text.encode("utf-8")
        response.encoding = "utf-8"
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass


def _text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a test tried to reach the network")

    monkeypatch.setattr(HTTPAdapter, "send", refuse)
    monkeypatch.delenv(TOKEN_ENV, raising=False)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def test_the_api_gives_the_registry_the_folder_gives(tmp_path: Path, token_file: Path) -> None:
    server = FakeRedcap(TEMPLATE_EXPORT)
    by_api = tmp_path / "api.duckdb"
    reader = Reader(URL, token_file=token_file, transport=server, chunk_records=3)
    result = write_import(reader, by_api)
    assert (result.status, result.records_in, result.stored, result.rejected) == ("stored", 8, 8, 0)
    assert (result.source, result.location) == ("redcap:myositis-registry", URL)
    by_folder = tmp_path / "folder.duckdb"
    write_import(Reader(TEMPLATE_EXPORT), by_folder)
    assert data_fingerprint(connect(by_api)) == data_fingerprint(connect(by_folder))
    # records exported in chunks of 3, after the dictionary, mapping, events and record ids
    chunks = [r for c, f, r in server.asked if c == "record" and f == "csv"]
    assert chunks == [["1", "2", "3"], ["4", "5", "6"], ["7", "8"]]
    assert [c for c, _, _ in server.asked[:5]] == [
        "project",
        "metadata",
        "formEventMapping",
        "event",
        "metadata",
    ]
    assert TOKEN not in json.dumps(result.as_dict())


def test_a_bad_value_names_its_line_across_chunks(tmp_path: Path, token_file: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(TEMPLATE_EXPORT, folder)
    line = set_cell(folder / "records.csv", "7", "sex", "X")
    reader_options = {"token_file": token_file, "transport": FakeRedcap(folder), "chunk_records": 3}
    (problem,) = read_only(URL, **reader_options).problems
    assert (problem.file, problem.record, problem.field) == (
        "records (REDCap API)",
        f"line {line} (record 7, event baseline_arm_1)",
        "sex",
    )


def test_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    intake = read_only(URL, transport=FakeRedcap(TEMPLATE_EXPORT))
    assert (intake.records_in, intake.problems) == (8, [])


def test_without_a_token_or_with_a_wrong_one(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="never put the token on the command line"):
        read_only(URL, transport=FakeRedcap(TEMPLATE_EXPORT))
    bad = tmp_path / "bad"
    bad.write_text("not-a-token")
    with pytest.raises(SourceError, match="a REDCap API token is 32 letters and digits"):
        read_only(URL, token_file=bad, transport=FakeRedcap(TEMPLATE_EXPORT))
    other = tmp_path / "other"
    other.write_text("F" * 32)
    with pytest.raises(SourceError) as refused:
        read_only(URL, token_file=other, transport=FakeRedcap(TEMPLATE_EXPORT))
    assert str(refused.value) == (
        f"{URL}: REDCap refused the project export (HTTP 403): You do not have permissions to "
        "use the API; check the token and that its user has API export rights"
    )


def test_an_api_url_ends_in_api(token_file: Path) -> None:
    with pytest.raises(SourceError, match="a REDCap API URL ends in /api/"):
        read_only("https://redcap.example.org/redcap/", token_file=token_file)


def test_the_command_line_never_takes_a_token(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    base = [
        sys.executable,
        "-m",
        "myositis.cli",
        "import",
        "redcap",
        URL,
        "--into",
        str(tmp_path / "r.duckdb"),
    ]
    missing = subprocess.run(base, capture_output=True, text=True, check=False, env=env)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "--token-file FILE" in missing.stderr and not (tmp_path / "r.duckdb").exists()
    given = subprocess.run([*base, "--token", TOKEN], capture_output=True, text=True, check=False)
    assert given.returncode == 2 and "No such option: --token" in given.stderr
