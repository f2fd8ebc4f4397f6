"""Checks the ONNX files of `bash build/run-sample.sh onnx` with Python's onnxruntime (see check-onnx-python.sh).

The generator graph (written by MlnetLstm's own ONNX writer) must pass onnx's full checker, and must continue the first prefix greedily exactly as the C# sample did through
ONNX Runtime for .NET (and as the model itself does), and the ConvertToOnnx graph must give the same perplexity.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

stem = sys.argv[1] if len(sys.argv) > 1 else "out/moby-dick-lstm"
check = json.load(open(stem + "-onnx-check.json", encoding="utf-8"))
prefix, limit = check["prefix"], check["maximum_new_tokens"]

# Full check (with shape inference). Not for the ConvertToOnnx graph: ML.NET's converter writes no opset import for
# the com.microsoft domain of ONNX Runtime's Tokenizer (as for ML.NET's own tokenizers), which ONNX Runtime accepts.
onnx.checker.check_model(onnx.load(stem + "-generator.onnx"), full_check=True)
generator = ort.InferenceSession(stem + "-generator.onnx", providers=["CPUExecutionProvider"])
vocabulary = json.loads(generator.get_modelmeta().custom_metadata_map["mlnetlstm.vocabulary"])
assert vocabulary["level"] == "character", "this check tokenizes characters"
tokens, eot, unknown = vocabulary["tokens"], vocabulary["end_of_text_id"], vocabulary["unknown_id"]
ids = {t: i for i, t in enumerate(tokens)}
x = [eot] + [ids.get(c.lower() if vocabulary["case_folding"] else c, unknown) for c in prefix]
names = [i.name for i in generator.get_inputs()]
layers, _, hidden = generator.get_inputs()[names.index("initial_h")].shape
state = {n: np.zeros((layers, 1, hidden), np.float32) for n in names if n != "token_ids"}
feedback = {"initial_h": "Y_h", "initial_c": "Y_c"}  # each state input and the output that continues it
outputs = ["next_token_logits"] + [feedback[n] for n in state]
text = ""
for step in range(limit):
    logits, *new_state = generator.run(outputs, {"token_ids": np.array([x], np.int64), **state})
    state = dict(zip(state, new_state))
    logits = logits[0]
    if unknown is not None:
        logits[unknown] = -np.inf
    token = int(np.argmax(logits))  # the model's stop token is end-of-text: it ends the text
    if token == eot:
        break
    text += tokens[token]
    x = [token]

columns = ort.InferenceSession(stem + ".onnx", providers=["CPUExecutionProvider"])
perplexity = float(columns.run(["Perplexity.output"], {"Text": np.array([[prefix]], dtype=object)})[0].ravel()[0])

print(f"onnxruntime {ort.__version__}; [{prefix}] perplexity {perplexity:.4f} (C#: {check['perplexity']:.4f})")
print(f"greedy: {prefix}{text}")
ok = text == check["greedy"] and abs(perplexity - check["perplexity"]) < 1e-5
print("Python's ONNX Runtime agrees with the C# sample." if ok else f"MISMATCH: C# generated {check['greedy']!r}")
sys.exit(0 if ok else 1)
