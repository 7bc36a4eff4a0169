"""Deployment (needs torch): ONNX export of trained generators and import of the reference's checkpoints."""
