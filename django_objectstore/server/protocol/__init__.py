"""The objectstore HTTP v1 protocol over the engine: routing, endpoints, header codecs.

``routing`` parses paths; ``objects``, ``batch``, ``multipart`` and ``health`` serve the
endpoints; the other modules encode and decode what travels in headers and bodies. The
app (``server/app.py``) authenticates and dispatches to the endpoint modules.
"""
