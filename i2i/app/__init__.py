"""`i2i app`, the web application, and what the browser runs (onnxruntime-web, pinned; the pages' files).

``server`` (settings, state, uvicorn), ``api`` (pages and HTTP endpoints), ``live`` (the webcam socket),
``catalog`` (the models on offer), ``runs`` (the Runs page), ``security`` (token, Host/Origin checks, headers),
``ortweb`` (fetching the pinned onnxruntime-web), ``web_folder`` (the static folder of `i2i export --web`).
Starlette and uvicorn are the ``app`` extra; ``catalog``, ``ortweb`` and ``web_folder`` need neither, so
`i2i export --web` works without them.
"""
