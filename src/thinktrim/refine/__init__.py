"""PIR refinement: segment the thinking into steps, classify them, score functional units, prune."""
