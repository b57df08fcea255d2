"""Row buffers that turn generated columns into Arrow tables of the registry schema."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from myositis.registry.schema import TABLES


class Rows:
    """Column lists for one registry table; chunks may be Python lists or NumPy arrays.

    Date columns hold days since 1970-01-01 (``None`` for missing), converted to date32.
    """

    def __init__(self, table: str) -> None:
        self.table = table
        self.schema = TABLES[table].to_pyarrow()
        self._chunks: list[pa.Table] = []
        self._lists: dict[str, list[Any]] = {name: [] for name in self.schema.names}

    def add(self, **values: Any) -> None:
        """Append one row given as keyword arguments (a column not given is null: the
        provenance columns, which generated data has none of)."""
        self._known(values)
        for name, column in self._lists.items():
            column.append(values.get(name))

    def _known(self, values: dict[str, Any]) -> None:
        unknown = set(values) - set(self.schema.names)
        if unknown:
            raise KeyError(f"{self.table} has no column(s) {sorted(unknown)}")

    def add_arrays(self, **arrays: Any) -> None:
        """Append many rows given as equal-length arrays or scalars broadcast to them."""
        self._known(arrays)
        n = max(len(v) for v in arrays.values() if isinstance(v, np.ndarray | list | pa.Array))
        columns = []
        for field in self.schema:
            value = arrays.get(field.name)
            if not isinstance(value, np.ndarray | list | pa.Array):
                value = [value] * n
            columns.append(_to_arrow(value, field.type))
        self._chunks.append(pa.Table.from_arrays(columns, schema=self.schema))

    def __len__(self) -> int:
        listed = len(next(iter(self._lists.values())))
        return listed + sum(c.num_rows for c in self._chunks)

    def snapshot(self) -> pa.Table:
        """All rows so far as one Arrow table, kept in the buffer: ``to_arrow`` later returns
        them in the same order (rows added after this call follow them)."""
        rows = self.to_arrow()
        if rows.num_rows:
            self._chunks = [rows]
        return rows

    def to_arrow(self) -> pa.Table:
        """All rows so far as one Arrow table (the buffer is emptied)."""
        chunks = list(self._chunks)
        if self._lists[self.schema.names[0]]:
            columns = [_to_arrow(self._lists[f.name], f.type) for f in self.schema]
            chunks.append(pa.Table.from_arrays(columns, schema=self.schema))
        self._chunks = []
        self._lists = {name: [] for name in self.schema.names}
        if not chunks:
            return self.schema.empty_table()
        return pa.concat_tables(chunks)


def _to_arrow(values: Any, target: pa.DataType) -> pa.Array:
    if isinstance(values, pa.Array):
        return values.cast(target)
    if pa.types.is_date32(target):
        return pa.array(values, pa.int32()).cast(pa.date32())
    return pa.array(values, target)
