"""The models: CLIP (torch, ONNX Runtime), the BLIP captioner, the worker that owns the device, their ids."""
