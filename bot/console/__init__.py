"""The web side: the embeddable chat widget and its demo page (static/, templates/); the agent console comes later."""
