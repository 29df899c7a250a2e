"""Fine-tuning on (refined) long chain-of-thought data: SFT with TRL, recipes, resumable runs."""
