"""The source (YAML, already read and checked against the meta-schema by :mod:`cdsgen.loader`)
turned into the model: one builder part per kind of item, composed into :class:`Builder`."""

from __future__ import annotations

from cdsgen.source.extensions import ExtensionsBuilder
from cdsgen.source.items import ItemsBuilder
from cdsgen.source.resolution import Resolver
from cdsgen.source.types import NamedTypesBuilder


class Builder(NamedTypesBuilder, ExtensionsBuilder, ItemsBuilder, Resolver):
    """Turns validated files into the model, resolving names and extensions."""
