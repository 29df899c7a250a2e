"""Generation for evaluation: types, backends (transformers, vLLM, OpenAI-compatible), the factory."""
