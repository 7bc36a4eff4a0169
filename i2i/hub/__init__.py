"""Named models (torch-free): the local store, the pretrained catalogue, downloads, and resolving --model."""
