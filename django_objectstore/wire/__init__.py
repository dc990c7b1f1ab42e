"""Wire formats of the objectstore HTTP v1 protocol.

Shared by :mod:`django_objectstore.client` and :mod:`django_objectstore.server` so that
both sides encode durations, timestamps, scopes, paths and free-form header values the
same way. Pure functions only: no I/O, no Django.
"""
