"""Wire formats of the objectstore HTTP v1 protocol.

Shared by :mod:`django_objectstore.client` and :mod:`django_objectstore.server` so that
both sides encode durations, timestamps, scopes, paths, free-form header values,
``Accept-Encoding`` and ``multipart/form-data`` framing the same way. No sockets, no
Django: at most a stream handed in is read.
"""
