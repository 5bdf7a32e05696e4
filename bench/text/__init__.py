"""Text for the ``text`` task: the embedded hashing sentence encoder (``hashing``), the captions the embedded
``synthetic-streets-captions`` set is described with (``describe``) and the image-text matchers that score
text-image consistency (``matchers``: R-precision)."""
