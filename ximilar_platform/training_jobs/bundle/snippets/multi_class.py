import json
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

manifest = json.load(open("manifest.json"))
side, serving = manifest["preprocessing"]["image_size"], manifest["serving"]
image = Image.open(sys.argv[1])
if image.format == "JPEG" and serving["decode_min_side"] > 0:  # the service decodes a big JPEG at a reduced scale
    image.draft("RGB", (max(serving["decode_min_side"], 2 * side),) * 2)
image = ImageOps.exif_transpose(image).convert("RGBA")  # transparency on white (16-bit images: see predict.py)
image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
pixels = np.asarray(image.resize((side, side), Image.Resampling.BILINEAR), dtype=np.float32) / np.float32(255)
mean, std = (np.asarray(manifest["preprocessing"][key], dtype=np.float32) for key in ("mean", "std"))
batch = np.ascontiguousarray(((pixels - mean) / std).transpose(2, 0, 1)[None])
session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
logits = session.run(["output"], {"input": batch})[0][0].astype(np.float64)
probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()  # softmax
for j in np.argsort(-probs, kind="stable"):
    print(f"{manifest['label_names'][j]}\t{probs[j]:.5f}")
