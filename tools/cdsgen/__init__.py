"""cdsgen: the canonical source of the LF Energy Connected Data Specifications and its generators.

Data flows one way: ``spec/**/*.yaml`` is loaded and checked into one typed :class:`Spec`
model (:mod:`cdsgen.loader`), pure emitters turn the model into ``{path: text}``
(:mod:`cdsgen.emit`), and one writer puts the result on disk atomically (:mod:`cdsgen.writer`).
"""

__version__ = "0.1.0"
