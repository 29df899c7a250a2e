"""Model backends behind two small protocols: `AnswerScorer` (log-likelihood of an answer) and `Generator`."""
