"""PIR answer scoring: types, the token convention, the naive scorer, the cached engine, the factory."""
