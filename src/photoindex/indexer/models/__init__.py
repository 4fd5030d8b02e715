"""The models: CLIP (torch, ONNX Runtime), the BLIP captioner, the worker that owns the device, their ids,
the factories that build them from the settings, and the child process that can host them."""
