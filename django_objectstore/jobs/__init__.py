"""What the management commands run, importable and testable without a command.

- ``keepalive``: refresh the time-to-idle deadline of every referenced object;
- ``copying``: copy a field's files from another storage into objectstore;
- ``orphans``: find (and delete) stored objects that no row references;
- ``roundtrip``: a full round trip against one storage (``objectstore_check``);
- ``embedded``: the project's objectstore storages and their embedded directories;
- ``progress``: a one-line progress display for a terminal.
"""
