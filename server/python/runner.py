"""Runs one Python cell inside the sandbox (server/python/sandbox.ts). Not a module users import.

Reads /tmp/job.json: the cell's source, its inputs as CSV files written by Postgres COPY with their
column types, and where to write the output. Inputs become pandas DataFrames named like the
datasets; the cell's output is the DataFrame bound to the output's name, else the value of its last
line. The output is written as CSV (pyarrow, every valid value quoted so an empty string and NULL
stay apart) plus its column types, for COPY FROM into the staging table. A failure writes
error.json with the exception, the cell line it happened on and the traceback's cell frames.
Models the cell registered (stagebook.register_model) are listed in models.json, written last.
"""

import ast
import json
import os
import re
import sys
import traceback

CELL_FILE = "<cell>"
OUTPUT_COLUMN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def fail(job, kind, message, line=None, tb=""):
    with open(job["errorFile"], "w") as f:
        json.dump({"kind": kind, "message": message, "line": line, "traceback": tb}, f)
    sys.exit(3)


def read_inputs(job):
    import pyarrow as pa
    from pyarrow import csv

    arrow_type = {
        "integer": pa.int64(),
        "numeric": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "text": pa.string(),
    }
    frames = {}
    for inp in job["inputs"]:
        types = {c["name"]: arrow_type[c["type"]] for c in inp["columns"]}
        table = csv.read_csv(
            inp["file"],
            read_options=csv.ReadOptions(block_size=1 << 24),
            convert_options=csv.ConvertOptions(
                column_types=types,
                true_values=["t"],
                false_values=["f"],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        frames[inp["name"]] = table.to_pandas()
    return frames


def cell_line(tb):
    """The last traceback frame in the cell's own code: the line the user should look at."""
    line = None
    for frame in traceback.extract_tb(tb):
        if frame.filename == CELL_FILE:
            line = frame.lineno
    return line


def cell_traceback(exc):
    """The traceback without the frames of the runner and of stagebook.py (they mean nothing to the
    cell's author: a stagebook.ModelError says what is wrong itself)."""
    ours = os.path.dirname(os.path.abspath(__file__))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.dirname(os.path.abspath(f.filename)) != ours]
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def run_cell(job, frames):
    import numpy as np
    import pandas as pd

    source = job["source"]
    try:
        tree = ast.parse(source, CELL_FILE, "exec")
    except SyntaxError as e:
        fail(job, "syntax", f"SyntaxError: {e.msg}", e.lineno, "".join(traceback.format_exception_only(type(e), e)))
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    scope = {"__name__": "__cell__", "pd": pd, "np": np}
    import stagebook  # the cell's API (server/python/stagebook.py): register_model

    stagebook._configure(job.get("modelDir"), bool(job.get("registerModels", True)))
    scope["stagebook"] = stagebook
    scope.update(frames)
    try:
        exec(compile(tree, CELL_FILE, "exec"), scope)
        value = eval(compile(last, CELL_FILE, "eval"), scope) if last is not None else None
    except MemoryError as e:
        fail(job, "memory", "MemoryError: the cell ran out of memory (the sandbox's memory limit)", cell_line(e.__traceback__), cell_traceback(e))
    except BaseException as e:  # SystemExit and KeyboardInterrupt too: the cell ends, the runner reports
        fail(job, "runtime", "".join(traceback.format_exception_only(type(e), e)).strip(), cell_line(e.__traceback__), cell_traceback(e))
    out = job["output"]
    result = scope.get(out) if out and isinstance(scope.get(out), (pd.DataFrame, pd.Series)) else value
    if isinstance(result, pd.Series):
        result = result.to_frame()
    if not isinstance(result, pd.DataFrame):
        got = "nothing" if result is None else type(result).__name__
        fail(job, "api", f'the cell must end with a DataFrame or assign one to "{out}" (got {got})')
    return result


def output_type(series):
    import pandas as pd
    from pandas.api import types as t

    if t.is_bool_dtype(series.dtype):
        return "boolean"
    if t.is_integer_dtype(series.dtype):
        return "integer"
    if t.is_float_dtype(series.dtype):
        return "numeric"
    if isinstance(series.dtype, pd.DatetimeTZDtype) or t.is_datetime64_any_dtype(series.dtype):
        return "timestamp"
    return "text"


def write_output(job, df):
    import pandas as pd
    import pyarrow as pa
    from pyarrow import csv

    if isinstance(df.index, pd.MultiIndex) or df.index.name is not None:
        df = df.reset_index()
    columns = []
    arrays = []
    seen = set()
    for name in df.columns:
        col = str(name)
        if not OUTPUT_COLUMN.match(col):
            fail(job, "api", f'output column "{col}": output columns must be lowercase identifiers (a-z, 0-9, _)')
        if col in seen:
            fail(job, "api", f'output column "{col}" appears twice')
        seen.add(col)
        s = df[name]
        kind = output_type(s)
        if kind == "text":
            s = s.map(lambda v: None if v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT else str(v))
            arr = pa.array(s, type=pa.string(), from_pandas=True)
        elif kind == "timestamp":
            if getattr(s.dt, "tz", None) is None:
                s = s.dt.tz_localize("UTC")
            arr = pa.array(s.dt.tz_convert("UTC"), type=pa.timestamp("us", tz="UTC"), from_pandas=True)
        elif kind == "integer":
            arr = pa.array(s, type=pa.int64(), from_pandas=True)
        elif kind == "numeric":
            arr = pa.array(s, type=pa.float64(), from_pandas=True)
        else:
            arr = pa.array(s, type=pa.bool_(), from_pandas=True)
        columns.append({"name": col, "type": kind})
        arrays.append(arr)
    table = pa.Table.from_arrays(arrays, names=[c["name"] for c in columns])
    csv.write_csv(table, job["outFile"], csv.WriteOptions(include_header=False, quoting_style="all_valid"))
    with open(job["outSchema"], "w") as f:
        json.dump({"columns": columns, "rows": table.num_rows}, f)


def write_models(job):
    """The models the cell registered (stagebook.register_model), for the server to evaluate and register."""
    import stagebook

    if job.get("modelsFile"):
        with open(job["modelsFile"], "w") as f:
            json.dump({"models": stagebook._registered()}, f)


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    frames = read_inputs(job)
    df = run_cell(job, frames)
    write_output(job, df)
    write_models(job)


if __name__ == "__main__":
    main()
