"""A REDCap project read straight from its API, through PyCap (``redcap.Project``).

``myositis import redcap https://redcap.example.org/api/ --token-file FILE --into ...``
exports, as a user with API export rights would by hand: the project information, the data
dictionary (``metadata``), for a longitudinal project the instrument-event mapping
(``formEventMapping``) and the events, the record ids, then the records as flat raw CSV with
data access groups and unique event names, **in chunks** of :data:`CHUNK_RECORDS` records, so
a large project neither runs out of memory nor times out on one request.

The token is never given on the command line: it is read from ``--token-file`` (a file
holding the 32-character token) or, failing that, the environment variable
:data:`TOKEN_ENV`. It is never written anywhere (the import log records the URL).

The HTTP transport is pluggable, as httpx's is: :class:`RedcapApi` takes a ``requests``
transport adapter, which is mounted for the project's URL on the session PyCap sends its
requests through, and only while the export runs. The default adapter retries failed
connections; the tests mount one that answers from files, so no test touches the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.util.retry import Retry

from myositis.errors import SourceError
from myositis.progress import Progress, silent
from myositis.sources.redcap.dictionary import read_dictionary
from myositis.sources.redcap.inputs import Export, read_designations, read_events, text_sheet
from myositis.sources.tabular import Row, Sheet

#: Environment variable holding the API token when no --token-file is given.
TOKEN_ENV: Final = "MYOSITIS_REDCAP_TOKEN"
#: Records per export request.
CHUNK_RECORDS: Final = 500
#: Seconds to connect, and to wait for an answer (a chunk of a large project takes a while).
TIMEOUT: Final = (15, 600)

RECORDS: Final = "records (REDCap API)"
_TOKEN: Final = re.compile(r"[0-9A-Za-z]{32}")
_URL: Final = re.compile(r"https?://[^\s/]+(/[^\s]*)?/api/")


def is_api_url(location: str) -> bool:
    """Whether an import source is an API URL rather than a folder."""
    return location.startswith(("http://", "https://"))


def read_token(token_file: Path | None) -> str:
    """The API token from ``token_file`` or the environment (see the module docstring)."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise SourceError(f"--token-file {token_file}: no such file") from None
        except OSError as exc:
            raise SourceError(
                f"--token-file {token_file}: cannot be read ({exc.strerror})"
            ) from None
        where = f"--token-file {token_file}"
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
        where = f"the environment variable {TOKEN_ENV}"
        if not token:
            raise SourceError(
                "a REDCap API import needs the project's API token: put it in a file readable "
                f"only by you and give --token-file FILE, or set {TOKEN_ENV} (never put the "
                "token on the command line)"
            )
    if not _TOKEN.fullmatch(token):
        raise SourceError(
            f"{where}: a REDCap API token is 32 letters and digits (REDCap: API > your token); "
            "this is not one"
        )
    return token


def default_transport() -> BaseAdapter:
    """A ``requests`` adapter that retries failed connections and busy answers."""
    retry = Retry(
        total=3, backoff_factor=1.0, status_forcelist=(502, 503, 504), allowed_methods=None
    )
    return HTTPAdapter(max_retries=retry)


class RedcapApi:
    """One project's API: ``url`` (ending in ``/api/``), its token and a transport adapter."""

    def __init__(
        self, url: str, token: str, *, transport: Any = None, chunk_records: int = CHUNK_RECORDS
    ) -> None:
        if not _URL.fullmatch(url):
            raise SourceError(
                f"{url}: a REDCap API URL ends in /api/ (https://redcap.example.org/api/; "
                "REDCap shows it on its API page)"
            )
        self.url = url
        self.token = token
        self.transport = transport
        self.chunk_records = chunk_records

    def _mount(self) -> Any:
        """A PyCap project whose requests go through this API's transport (mounted for the
        project's URL on the session PyCap sends every request through, until
        :meth:`_unmount`)."""
        from redcap import Project, request

        adapter = _Answers(self.transport or default_transport(), self.url)
        request._session.mount(self.url, adapter)
        return Project(self.url, self.token, timeout=TIMEOUT)

    def _unmount(self) -> None:
        from redcap import request

        request._session.adapters.pop(self.url, None)

    def _call(self, what: str, method: Any, **kwargs: Any) -> Any:
        import requests

        try:
            return method(**kwargs)
        except requests.RequestException as exc:
            if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
                raise SourceError(
                    f"{self.url}: {what}: the server could not be reached ({type(exc).__name__}); "
                    "check the URL and the network, then try again"
                ) from None
            raise SourceError(
                f"{self.url}: REDCap refused to export the {what}: {_message(exc)} (check the "
                "token and that its user has API export rights)"
            ) from None

    def export(self, progress: Progress = silent) -> Export:
        """Every part of the project's export; the records are exported chunk by chunk as the
        returned export's record sheet is read (one project, one mount, until then)."""
        project = self._mount()
        try:
            info = self._call("project information", project.export_project_info)
            metadata = self._call("data dictionary", project.export_metadata, format_type="csv")
            dictionary = read_dictionary(text_sheet("data dictionary (REDCap API)", metadata))
            export = Export(
                dictionary=dictionary,
                records=Sheet(RECORDS, [], iter(())),
                files={"dictionary": "data dictionary (REDCap API)", "records": RECORDS},
            )
            if str(info.get("is_longitudinal", "0")) == "1":
                mapping = self._call(
                    "instrument-event mapping",
                    project.export_instrument_event_mappings,
                    format_type="csv",
                )
                events = self._call("events", project.export_events, format_type="csv")
                export.designations = read_designations(
                    text_sheet("instrument-event mapping (REDCap API)", mapping)
                )
                export.events = read_events(text_sheet("events (REDCap API)", events))
            ids = self._call(
                "record ids",
                project.export_records,
                format_type="json",
                fields=[dictionary.record_id],
            )
            record_ids = list(dict.fromkeys(str(r[dictionary.record_id]) for r in ids))
            export.records = self._records(project, record_ids, progress)
        except BaseException:
            self._unmount()
            raise
        return export

    def _records(self, project: Any, ids: list[str], progress: Progress) -> Sheet:
        size = self.chunk_records
        chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
        if not chunks:
            self._unmount()
            return Sheet(RECORDS, [], iter(()))
        first = self._chunk(project, chunks[0], 1)

        def rows() -> Iterator[Row]:
            sheet, line = first, 1
            try:
                for n, chunk in enumerate(chunks):
                    if n:
                        sheet = self._chunk(project, chunk, line)
                        if sheet.header != first.header:
                            raise SourceError(
                                f"{self.url}: the record export's columns changed between "
                                "chunks (the project was edited during the export); import "
                                "again"
                            )
                    for line, cells in sheet.rows:
                        yield line, cells
                    done = min((n + 1) * size, len(ids))
                    progress("exporting records from REDCap", done, len(ids))
            finally:
                self._unmount()

        return Sheet(RECORDS, first.header, rows())

    def _chunk(self, project: Any, ids: list[str], line: int) -> Sheet:
        text = self._call(
            "records",
            project.export_records,
            format_type="csv",
            records=ids,
            raw_or_label="raw",
            raw_or_label_headers="raw",
            event_name="unique",
            export_data_access_groups=True,
        )
        return text_sheet(RECORDS, text, first_line=line)


def _message(exc: Exception | str) -> str:
    """REDCap's own words from an error answer (JSON, XML or text)."""
    text = exc if isinstance(exc, str) else str(exc.args[0] if exc.args else exc)
    match = re.search(r'"error"\s*:\s*"([^"]*)"', text) or re.search(r"<error>(.*?)</error>", text)
    return match.group(1) if match else text.strip()[:300]


class _Answers(BaseAdapter):
    """The transport, with REDCap's error answers (HTTP 400 and above, in whatever format)
    turned into one message naming what was asked and REDCap's own words."""

    def __init__(self, inner: BaseAdapter, url: str) -> None:
        super().__init__()
        self.inner = inner
        self.url = url

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = self.inner.send(request, *args, **kwargs)
        if response.status_code >= 400:
            asked = re.search(r"(?:^|&)content=(\w+)", request.body or "")
            what = f" the {asked.group(1)} export" if asked else ""
            raise SourceError(
                f"{self.url}: REDCap refused{what} (HTTP {response.status_code}): "
                f"{_message(response.text)}; check the token and that its user has API export "
                "rights"
            )
        return response

    def close(self) -> None:
        self.inner.close()


__all__ = [
    "CHUNK_RECORDS",
    "TOKEN_ENV",
    "RedcapApi",
    "default_transport",
    "is_api_url",
    "read_token",
]
