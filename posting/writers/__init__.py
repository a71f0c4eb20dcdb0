"""Writers that compose a post without an LLM."""
