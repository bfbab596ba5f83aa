"""Emitters: pure functions from the :class:`~cdsgen.model.Spec` to ``{path: text}``.

No emitter reads YAML, writes files or looks at the clock; the writer does the I/O.
"""
