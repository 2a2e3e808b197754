"""The REST API's shared machinery: base view, pagination, throttling, parsing and errors.

Every app's ``api/`` package builds on it; nothing here knows about planning.
"""
