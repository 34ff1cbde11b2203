"""A whole UTC day of 10-minute rows as one compact string, for the cache.

The alert view re-analyses a week of history every 10 minutes. Read from the store each time
that is about 4 MB of JSON per rebuild — some 18 GB a month of Supabase egress, far past the
free tier. A past day never changes, so it is read once and cached: columns of float32
(seven significant digits: more than the analysis can tell apart), zlib, base64 —
about 80 KB a day for 20 servers where the JSON rows are 550 KB.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence

import numpy as np
import orjson

from lib.core import STATUSES, MetricRow

__all__ = ["pack_rows", "unpack_rows"]

FLOATS = ("cpu", "memory", "disk", "response_time", "network_rx", "network_tx", "connections")
FORMAT = 1


def pack_rows(rows: Sequence[MetricRow]) -> str:
    """``rows`` as one string; any set of rows (a full grid packs smallest)."""
    ordered = sorted(rows, key=lambda r: (r.timestamp, r.server_id))
    ids = sorted({r.server_id for r in ordered})
    index = {sid: k for k, sid in enumerate(ids)}
    columns = np.array([[np.nan if v is None else v for v in row[2:9]] for row in ordered],
                       dtype=np.float32).reshape(len(ordered), len(FLOATS))
    header = {"format": FORMAT, "ids": ids,
              "timestamps": [r.timestamp for r in ordered],
              "servers": [index[r.server_id] for r in ordered],
              "status": [STATUSES.index(r.status) for r in ordered]}
    body = orjson.dumps(header) + b"\n" + columns.T.tobytes()
    return base64.b64encode(zlib.compress(body, 6)).decode()


def unpack_rows(text: str) -> list[MetricRow]:
    """The rows of :func:`pack_rows`, in (timestamp, server) order; ValueError if damaged."""
    try:
        body = zlib.decompress(base64.b64decode(text))
        head, _, data = body.partition(b"\n")
        header = orjson.loads(head)
        if header.get("format") != FORMAT:
            raise ValueError(f"unknown row pack format {header.get('format')!r}")
        n = len(header["timestamps"])
        columns = np.frombuffer(data, dtype=np.float32).reshape(len(FLOATS), n)
    # base64's and JSON's errors are ValueErrors; a header that is no object, AttributeError
    except (zlib.error, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"damaged row pack: {exc}") from exc
    ids = header["ids"]
    wide = columns.astype(np.float64)
    cpu, memory, disk, rx, tx = (wide[k].tolist() for k in (0, 1, 2, 4, 5))
    rt = [None if v != v else round(v) for v in wide[3].tolist()]
    conn = [round(v) for v in np.nan_to_num(wide[6]).tolist()]
    return [
        MetricRow(ts, ids[s], cpu[k], memory[k], disk[k], rt[k], rx[k], tx[k], conn[k],
                  STATUSES[status])
        for k, (ts, s, status) in enumerate(zip(header["timestamps"], header["servers"],
                                                header["status"], strict=True))
    ]
