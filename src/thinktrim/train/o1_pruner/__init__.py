"""O1-Pruner (arXiv 2501.12570, docs/methods.md §3) on stock transformers/TRL: pre-sample, build the
length-harmonizing reward dataset, fine-tune with offline PPO-clip against the frozen reference.

- `sample`: K graded samples per problem from the reference model (eval's loop and resumable store);
- `reward` (pure) and `build`: R per sample, clip, k kept per problem, z-score → o1_pruner.jsonl;
- `loss` (pure torch), `trainer`, `reference` (the one-pass reference log-probs) and `fit`: the training run,
  sharing `train sft`'s recipes, model settings, checkpoints, resume and output folder (`runner.run_training`).
"""
