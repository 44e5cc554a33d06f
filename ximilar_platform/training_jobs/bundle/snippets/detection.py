import json
import sys

import numpy as np
import onnxruntime as ort
from predict import decode, letterbox, load  # the service's decoding, its OpenCV-style resize and its NMS

manifest = json.load(open("manifest.json"))
side, serving = manifest["preprocessing"]["image_size"], manifest["serving"]
draft = max(serving["decode_min_side"], 2 * side) if serving["decode_min_side"] > 0 else None
image, (width, height) = load(sys.argv[1], draft)  # the decoded image, and its full size if a JPEG decoded smaller
canvas, gain_x, gain_y, left, top = letterbox(image, side)  # fitted into the square on grey 114, aspect kept
batch = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32) / np.float32(255)
session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
output = session.run(None, {session.get_inputs()[0].name: batch})[0][0]  # (4 + classes, anchors)
boxes, probs, classes = decode(output, serving["keep_prob"])  # boxes over keep_prob, after NMS, best first
size = np.array([image.width, image.height, image.width, image.height])
boxes = np.clip((boxes - [left, top, left, top]) / [gain_x, gain_y, gain_x, gain_y], 0, size)  # the decoded image's
boxes = np.rint(boxes) * ([width, height, width, height] / size)  # to the full image's pixels
for (x0, y0, x1, y1), prob, label in zip(boxes, probs, classes, strict=True):
    print(f"{manifest['label_names'][label]}\t{prob:.5f}\t{x0:.0f} {y0:.0f} {x1:.0f} {y1:.0f}")
