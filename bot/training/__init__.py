"""Training data tools: validation that knows about actions, NLU examples edited line by line (nlu_data; later the inbox)."""
