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

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

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
            raise SourceError(f"--token-file {token_file}: cannot be read ({exc.strerror})") from None
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


def default_transport() -> Any:
    """A ``requests`` adapter that retries failed connections and busy answers."""
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(total=3, backoff_factor=1.0, status_forcelist=(502, 503, 504),
                  allowed_methods=None)  # fmt: skip
    return HTTPAdapter(max_retries=retry)


class RedcapApi:
    """One project's API: ``url`` (ending in ``/api/``), its token and a transport adapter."""

    def __init__(self, url: str, token: str, *, transport: Any = None,
                 chunk_records: int = CHUNK_RECORDS) -> None:  # fmt: skip
        if not _URL.fullmatch(url):
            raise SourceError(
                f"{url}: a REDCap API URL ends in /api/ (https://redcap.example.org/api/; "
                "REDCap shows it on its API page)"
            )
        self.url = url
        self.token = token
        self.transport = transport
        self.chunk_records = chunk_records

    @contextlib.contextmanager
    def _mounted(self) -> Iterator[Any]:
        """A PyCap project whose requests go through this API's transport."""
        from redcap import Project, request

        session = request._session  # the session PyCap sends every request through
        adapter = self.transport or default_transport()
        session.mount(self.url, adapter)
        try:
            yield Project(self.url, self.token, timeout=TIMEOUT)
        finally:
            session.adapters.pop(self.url, None)

    def _call(self, what: str, method: Any, **kwargs: Any) -> Any:
        import requests

        try:
            return method(**kwargs)
        except requests.HTTPError as exc:  # a status code PyCap does not read as an answer
            raise SourceError(f"{self.url}: {what}: the server answered {exc}") from None
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
        """Every part of the project's export; the records are read chunk by chunk as the
        returned export's record sheet is iterated."""
        with self._mounted() as project:
            info = self._call("project information", project.export_project_info)
            metadata = self._call("data dictionary", project.export_metadata, format_type="csv")
            dictionary = read_dictionary(text_sheet("data dictionary (REDCap API)", metadata))
            export = Export(
                dictionary=dictionary,
                records=Sheet("records (REDCap API)", [], iter(())),
                files={"dictionary": "data dictionary (REDCap API)",
                       "records": "records (REDCap API)"},
            )  # fmt: skip
            if str(info.get("is_longitudinal", "0")) == "1":
                mapping = self._call("instrument-event mapping",
                                     project.export_instrument_event_mappings, format_type="csv")  # fmt: skip
                events = self._call("events", project.export_events, format_type="csv")
                export.designations = read_designations(text_sheet("instrument-event mapping "
                                                                   "(REDCap API)", mapping))  # fmt: skip
                export.events = read_events(text_sheet("events (REDCap API)", events))
            ids = self._call("record ids", project.export_records, format_type="json",
                             fields=[dictionary.record_id])  # fmt: skip
        record_ids = list(dict.fromkeys(str(r[dictionary.record_id]) for r in ids))
        export.records = self._records(record_ids, progress)
        return export

    def _records(self, ids: list[str], progress: Progress) -> Sheet:
        chunks = [ids[i : i + self.chunk_records] for i in range(0, len(ids), self.chunk_records)]
        name = "records (REDCap API)"
        if not chunks:
            return Sheet(name, [], iter(()))
        first = self._chunk(chunks[0], 1)
        header = first.header

        def rows() -> Iterator[Row]:
            sheet = first
            line = 1
            for n in range(len(chunks)):
                if n:
                    sheet = self._chunk(chunks[n], line)
                    if sheet.header != header:
                        raise SourceError(
                            f"{self.url}: the record export's columns changed between chunks "
                            "(the project was edited during the export); import again"
                        )
                for line, cells in sheet.rows:
                    yield line, cells
                progress("exporting records from REDCap", min((n + 1) * self.chunk_records,
                                                             len(ids)), len(ids))  # fmt: skip

        return Sheet(name, header, rows())

    def _chunk(self, ids: list[str], line: int) -> Sheet:
        with self._mounted() as project:
            text = self._call("records", project.export_records, format_type="csv",
                              records=ids, raw_or_label="raw", raw_or_label_headers="raw",
                              event_name="unique", export_data_access_groups=True)  # fmt: skip
        return text_sheet("records (REDCap API)", text, first_line=line)


def _message(exc: Exception) -> str:
    text = str(exc.args[0] if exc.args else exc)
    match = re.search(r'"error"\s*:\s*"([^"]*)"', text)
    return match.group(1) if match else text.strip()[:300]


__all__ = ["CHUNK_RECORDS", "TOKEN_ENV", "RedcapApi", "default_transport", "is_api_url", "read_token"]
