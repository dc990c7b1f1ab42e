"""An objectstore-compatible server: the HTTP v1 protocol over a storage engine.

Build one with :func:`django_objectstore.server.app.create_app`; serve it over HTTP with
``python -m django_objectstore.server run`` or call ``App.handle`` in process.
No Django imports here.
"""
