"""Training data tools: validation that knows about actions (and, later, the trainer's NLU inbox)."""
