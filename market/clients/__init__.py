"""One module per external source of market data or news; each names itself in every error it raises."""
