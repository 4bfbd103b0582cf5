"""Chat platforms: thin adapters that turn chat events into Commands calls and render Replies."""
