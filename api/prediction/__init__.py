"""Predictions in the API process: the ONNX sessions and the image bodies they read."""
