"""Clients' own files as inputs: an upload is a file a client PUTs into the media
bucket's uploads prefix through a presigned URL, then names as ``upload:<id>`` in
an image parameter (a small file may come inline as a ``data:`` URI instead).

- ``model``: the upload record and the file checks (who may use an upload is
  ``chalicelib.authorization.reaches_upload``);
- ``dynamodb``: where the records live;
- ``service``: ``POST /uploads``, and turning image parameters into short-lived
  links Replicate can fetch.
"""
