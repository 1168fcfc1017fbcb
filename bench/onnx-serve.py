"""The Python peer of our REST predict route (bench/scoring.ts): FastAPI on uvicorn, one worker, an
onnxruntime session on one thread, the way `mlflow models serve` serves a model. Same ONNX file, same
JSON: POST /predict {"records": [{feature: value, ...}]} -> {"predictions": [{"label", "probabilities"}]}.

    python onnx-serve.py <model.onnx> <feature-schema.json> <port>

The feature schema is our FeatureSchema (server/ml/onnx/feature-schema.ts): inputs with their tensor
type, the probabilities output, the classes and which one is positive. Missing values become NaN
(numbers) or "" (strings), as in our route. Records are checked like ours: an object each, numbers
where numbers go; a bad one is a 400 naming it.
"""

import json
import math
import sys

import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

model_path, schema_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(schema_path) as f:
    schema = json.load(f)

options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])

DTYPES = {"float": np.float32, "double": np.float64, "int64": np.int64, "int32": np.int32, "bool": np.bool_}
inputs = [(i["name"], i["input"], i["tensor"], (-1, 1) if i["rank"] == 2 else (-1,)) for i in schema["inputs"]]
prob_output = schema["outputs"]["probabilities"]
classes = schema["classes"]
pos = schema["positiveIndex"]
neg_class, pos_class = classes[1 - pos], classes[pos]

app = FastAPI()


class BadRecord(Exception):
    pass


def number(v, where):
    if v is None:
        return math.nan
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if not isinstance(v, (int, float)):
        raise BadRecord(f"{where}: expected a number or null")
    return float(v)


@app.post("/predict")
async def predict(request: Request):
    body = await request.json()
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not records:
        return JSONResponse({"error": "records must be a non-empty list"}, status_code=400)
    feeds = {}
    try:
        for i, r in enumerate(records):
            if not isinstance(r, dict):
                raise BadRecord(f"records[{i}]: expected an object")
        for name, input_name, tensor, shape in inputs:
            if tensor == "string":
                values = [r.get(name) for r in records]
                feeds[input_name] = np.array(["" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in values], dtype=object).reshape(shape)
            else:
                values = [number(r.get(name), f"records[{i}].{name}") for i, r in enumerate(records)]
                feeds[input_name] = np.array(values, dtype=np.float64).astype(DTYPES[tensor]).reshape(shape)
    except BadRecord as e:
        return JSONResponse({"error": str(e)}, status_code=400)
    (p,) = session.run([prob_output], feeds)
    out = []
    for row in p.tolist():
        pp = row[pos]
        out.append({"label": pos_class if pp >= 0.5 else neg_class, "probabilities": {neg_class: row[1 - pos], pos_class: pp}})
    return {"predictions": out}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)
